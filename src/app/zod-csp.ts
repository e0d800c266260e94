/**
 * In the browser, zod must not probe for eval: its `new Function('')` check is caught, but a CSP
 * without 'unsafe-eval' still reports it as a violation on every page. Imported first by
 * router.tsx so it runs before any schema is used; the server keeps zod's faster JIT parsing.
 *
 * zod (v4) keeps its global config on `globalThis.__zod_globalConfig` and adopts an object already
 * there, so this sets it without importing zod: the entry chunk stays free of zod (~90 KB), which
 * loads only with the code that validates (test/app/bundle.test.ts).
 */
const holder = globalThis as { __zod_globalConfig?: { jitless?: boolean } }
if (typeof window !== 'undefined') {
  holder.__zod_globalConfig ??= {}
  holder.__zod_globalConfig.jitless = true
}

export {}
