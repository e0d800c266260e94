/**
 * The whole app with worker supervision on loopback, for the benchmarks that time workers
 * (workers.ts, scenarios/multi-agent-start.ts, scenarios/adapter-start.ts): one runtime, an
 * optional warm pool, an admin token, and the Docker engine started when a docker row needs it.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pino from 'pino'
import { createTetherServer } from '../src/lib/tether-server'
import { serveOnLoopback } from './serve-app'
import { connectDocker } from '../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../src/lib/workers/image/build'
import type { RuntimeKind } from '../src/lib/workers/runtime'
import type { WorkerSupervisor } from '../src/lib/workers/supervisor'
import { createWorkerCallbacks } from '../src/lib/workers/supervisor-wiring'

export interface WorkerApp {
  url: string
  adminToken: string
  supervisor: WorkerSupervisor
  close(): Promise<void>
}

/** Starts the app with workers in `runtime` and `warm` pooled ones; `name` labels its data dir. */
export async function startWorkerApp(runtime: RuntimeKind, warm: number, name: string): Promise<WorkerApp> {
  const dataDir = mkdtempSync(join(tmpdir(), `tether-bench-${name}-${runtime}-`))
  let resolveUrl!: (u: string) => void
  const url = new Promise<string>((r) => (resolveUrl = r))
  let supervisor: WorkerSupervisor | null = null
  const app = createTetherServer(
    {
      dataDir,
      logger: pino({ level: 'silent' }),
      sessions: {
        auth: true,
        secret: 'bench-secret-for-worker-benchmarks',
        monitorIntervalMs: 0,
        ephemeralRemoveAfterMs: 60_000,
        retentionDays: 1,
        maxEventBodyBytes: 1 << 20,
        defaultLimits: {},
      },
    },
    createWorkerCallbacks({
      dataDir,
      config: { enabled: true, runtime, warmPool: { process: 0, docker: 0, [runtime]: warm } },
      serverUrl: () => url,
      onSupervisor: (s) => (supervisor = s),
    }),
  )
  const server = await serveOnLoopback((req) => app.fetch(req))
  const origin = server.origin
  resolveUrl(origin)
  await app.ready
  const adminToken = await app.issueToken({ role: 'admin', subject: 'bench', ttlSeconds: 3600 })
  if (!supervisor) throw new Error('the app built no supervisor')
  const sup: WorkerSupervisor = supervisor
  await sup.runtime(runtime)
  return {
    url: origin,
    adminToken,
    supervisor: sup,
    async close() {
      await app.close()
      await server.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Waits until `runtime`'s warm pool holds `size` workers (2 minutes at most). */
export async function waitForPool(app: WorkerApp, runtime: RuntimeKind, size = 1): Promise<void> {
  const deadline = Date.now() + 120_000
  while ((app.supervisor.pool(runtime)?.available ?? 0) < size) {
    if (Date.now() > deadline) throw new Error('the warm pool did not fill')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/**
 * Starts the Docker engine if needed (scripts/docker-engine.sh) and builds the worker image;
 * false (with the reason logged) when that is impossible, so docker rows print "failed".
 */
export async function prepareDocker(log: (m: string) => void): Promise<boolean> {
  try {
    const out = execFileSync('bash', [resolve(import.meta.dirname, '../scripts/docker-engine.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const host = /DOCKER_HOST=(\S+)/.exec(out)?.[1]
    if (host) process.env.DOCKER_HOST = host
    const started = performance.now()
    const image = await ensureWorkerImage({ docker: await connectDocker(), log })
    log(`worker image ${image.ref} ${image.built ? `built in ${(performance.now() - started).toFixed(0)} ms` : 'up to date'}`)
    return true
  } catch (err) {
    log(`no Docker engine: ${(err as Error).message.split('\n')[0]}`)
    return false
  }
}
