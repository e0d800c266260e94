/**
 * Production entry: serves the `vite build` output (dist/server/server.js is the TanStack Start
 * fetch handler, which also carries /api/streams and /api/sessions) and dist/client as static
 * files, with srvx on PORT/HOST. Pages and API answers get their security headers inside the app
 * (src/app/start.ts); the outer middleware gives the static files the same nosniff/no-referrer.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { serve } from 'srvx'
import { staticMiddleware } from 'srvx/static'
import { withSecurityHeaders } from '../lib/security-headers'
import { loadSettings } from '../lib/settings'
import { markClientDisconnects } from './client-disconnect'

const root = resolve(import.meta.dirname, '../..')
const serverEntry = resolve(root, 'dist/server/server.js')
if (!existsSync(serverEntry)) {
  console.error(`No production build at ${serverEntry}: run \`npm run build\` first (npm start does).`)
  process.exit(1)
}

// The app inside the bundle parses the same environment again (getTetherServer); this is only where to listen.
const { port, host: hostname } = loadSettings(process.env).server
const { default: app } = (await import(pathToFileURL(serverEntry).href)) as {
  default: { fetch: (req: Request) => Response | Promise<Response> }
}

const server = serve({
  port,
  hostname,
  silent: true,
  // A dropped connection is not an error: see client-disconnect.ts.
  fetch: (req) => app.fetch(markClientDisconnects(req)),
  middleware: [
    async (_req, next) => withSecurityHeaders(await next()),
    // `encodings`: the build's precompressed `.br`/`.gz` files (vite.config.ts), not compressed per request.
    staticMiddleware({ dir: resolve(root, 'dist/client'), maxAge: 3600, encodings: true }),
  ],
})
await server.ready()
const url = server.url ?? `http://${hostname}:${port}/`
// Boot the app now rather than on the first request: migrations run, workers of live sessions
// are reconciled, and the local admin link is printed at start.
const health = await app.fetch(new Request(new URL('/api/health', url)))
if (!health.ok) {
  console.error(`Tether failed to start: /api/health answered ${health.status} ${await health.text()}`)
  process.exit(1)
}
console.log(`Tether listening on ${url}`)

// The app's close (tether-server-entry.ts APP_CLOSE_HOOK): workers stop, session leases are handed
// over at once (nodes sharing PostgreSQL take them without waiting for them to lapse), appends in
// flight finish, the database closes. New requests are refused first.
const APP_CLOSE_HOOK = Symbol.for('tether.app.close')
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    const closeApp = (globalThis as Record<symbol, (() => Promise<void>) | undefined>)[APP_CLOSE_HOOK]
    void server
      .close(true)
      .then(() => closeApp?.())
      .catch((err: unknown) => console.error('Tether: error while shutting down', err))
      .finally(() => process.exit(0))
  })
}
