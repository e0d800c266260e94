/**
 * The whole Tether app for the benchmarks (createTetherServer + srvx, auth on, workers off), with
 * its own data dir: run in process by some scenarios, and in its own process by
 * bench/session-writer-app.ts. Its own module, without the session-writer scenario's command-line
 * entry, so that the app child can be bundled (bench/scenarios/session-writer.ts appBundle).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { openTetherServer } from '../src/lib/tether-server'
import { serveOnLoopback } from './serve-app'
import { SHARED_NODE_SECRETS } from '../test/support/app-config'

/** `TETHER_METRICS=off npm run bench …` measures the app without /metrics counting (issue #12 bar 5). */
export const metricsOn = (): boolean => process.env.TETHER_METRICS !== 'off'

/**
 * `databaseUrl`: the app on PostgreSQL (openTetherServer), with the secrets every node on that
 * database shares, so tokens issued by one node are accepted by the others (node-capacity-pg).
 */
export async function startApp(
  streamsUrl: string | undefined,
  metrics = metricsOn(),
  databaseUrl?: string,
  /** The monitor's tick (0: off, the write-path benches; node capacity runs it as `npm start` does). */
  monitorIntervalMs = 0,
) {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-bench-session-writer-'))
  const app = await openTetherServer({
    dataDir,
    databaseUrl,
    logger: pino({ level: 'silent' }),
    metrics: { enabled: metrics },
    sessions: {
      auth: true,
      ...(databaseUrl ? SHARED_NODE_SECRETS : { secret: 'bench-secret-for-session-writer-01' }),
      streamsUrl,
      monitorIntervalMs,
      ephemeralRemoveAfterMs: 60_000,
      retentionDays: 1,
      maxEventBodyBytes: 1 << 20,
      defaultLimits: {},
    },
  })
  await app.ready
  const server = await serveOnLoopback((req) => app.fetch(req))
  const token = await app.issueToken({ role: 'admin', subject: 'bench-user', ttlSeconds: 3600 })
  return {
    origin: server.origin,
    token,
    /** More tokens (node-capacity's worker and viewer tokens: no endpoint hands those out). */
    issueToken: app.issueToken,
    async close() {
      await server.close()
      await app.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

