/**
 * In the browser, zod must not probe for eval: its `new Function('')` check is caught, but a CSP
 * without 'unsafe-eval' still reports it as a violation on every page. Imported first by
 * router.tsx so it runs before any schema is used; the server keeps zod's faster JIT parsing.
 */
import { z } from 'zod'

if (typeof window !== 'undefined') z.config({ jitless: true })
