/**
 * The process-wide app, and the one place route files reach it. Module state lives here and in
 * tether-server.ts, not in route files, because Start's code splitting would give each route its
 * own copy.
 */
import { loadSettings, hostEnv } from './settings'
import { LOGIN_CODE_TTL_MS, loginLinkUrl } from './sessions/login-links'
import { startTracing } from './ops/tracing'
import { workerCallbacksFromSettings } from './workers/supervisor-wiring'
import { openTetherServer, tetherConfigFrom, type TetherServer, type TetherServerConfig } from './tether-server'

let singleton: Promise<TetherServer> | undefined

/**
 * Where the production entry (src/server/main.ts) finds the app's close on SIGTERM: the app lives
 * inside the bundle, and importing this module from outside it would make a second copy.
 */
export const APP_CLOSE_HOOK = Symbol.for('tether.app.close')

/** The process-wide app, built from the environment on first use (PostgreSQL opens asynchronously). */
export function getTetherServer(): Promise<TetherServer> {
  singleton ??= (async () => {
    // The bundled app has no entry file of its own: the process environment enters here, once.
    const settings = loadSettings(hostEnv())
    const config = tetherConfigFrom(settings)
    // Agent workers (src/lib/workers) unless TETHER_WORKERS=off.
    const app = await openTetherServer(config, workerCallbacksFromSettings(config.dataDir, settings.workers))
    ;(globalThis as Record<symbol, unknown>)[APP_CLOSE_HOOK] = () => app.close()
    const { otlpEndpoint } = settings.logging
    if (otlpEndpoint) startTracing({ endpoint: otlpEndpoint }).catch((err: unknown) => app.logger.error({ err }, 'traces could not start'))
    await announceAdminLink(app, config)
    return app
  })()
  return singleton
}

/**
 * Local quick start: when auth is on and the app is only reachable on loopback, print a link
 * that signs this browser in as admin. The link carries a one-time code (15 minutes, one use),
 * never a token: logs get copied around, and a long-lived admin token in one would outlive it
 * (`npm run tether -- link` prints another).
 */
async function announceAdminLink(app: TetherServer, config: TetherServerConfig): Promise<void> {
  if (!config.sessions.auth || !config.publicUrl) return
  const host = new URL(config.publicUrl).hostname
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return
  try {
    const { code } = await app.loginCodes.mint()
    const minutes = Math.round(LOGIN_CODE_TTL_MS / 60_000)
    app.logger.info(`Tether admin link (loopback only, single use, expires in ${minutes} minutes): ${loginLinkUrl(config.publicUrl, code)}`)
  } catch (err) {
    app.logger.warn({ err }, 'could not mint an admin link; run `npm run tether -- link`')
  }
}

export async function handleTetherRequest(req: Request): Promise<Response> {
  return (await getTetherServer()).fetch(req)
}
