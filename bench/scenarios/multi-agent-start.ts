/**
 * Multi-agent start (issue #15, bar 5): a single-container session with 1, 3 and 10 echo agents,
 * time from `POST /api/sessions` to every agent's first heartbeat (its agent-state `kind:'state'`
 * entry with lastHeartbeat, read live over SSE). The one worker starts with the default agent's
 * token and fetches the others' tokens, so the 3- and 10-agent rows add those round trips and the
 * agents' catch-up to the one-agent start.
 *
 * Runtimes: docker cold (a new container), docker warm (a warm-pool container claimed) and the
 * process runtime (cold child process). Median of the samples per cell. Not a streams-server
 * measurement: runs once, on ours. Docker cells are NaN ("failed") when no engine can be started.
 *
 *   npm run bench -- --only multi-agent-start [--quick]
 */
import { stream } from '@durable-streams/client'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pino from 'pino'
import { serve } from 'srvx/node'
import { createTetherServer } from '../../src/lib/tether-server'
import { connectDocker } from '../../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../../src/lib/workers/image/build'
import type { RuntimeKind } from '../../src/lib/workers/runtime'
import type { WorkerSupervisor } from '../../src/lib/workers/supervisor'
import { createWorkerCallbacks } from '../../src/lib/workers/supervisor-wiring'
import { median } from '../stats'
import type { Metric, Scenario } from './types'

const AGENT_COUNTS = [1, 3, 10] as const
const MODES = [
  { key: 'dockerCold', label: 'docker cold', runtime: 'docker', warm: 0 },
  { key: 'dockerWarm', label: 'docker warm claim', runtime: 'docker', warm: 1 },
  { key: 'processCold', label: 'process cold', runtime: 'process', warm: 0 },
] as const

interface App {
  url: string
  adminToken: string
  supervisor: WorkerSupervisor
  close(): Promise<void>
}

async function startApp(runtime: RuntimeKind, warm: number): Promise<App> {
  const dataDir = mkdtempSync(join(tmpdir(), `tether-bench-multi-agent-${runtime}-`))
  let resolveUrl!: (u: string) => void
  const url = new Promise<string>((r) => (resolveUrl = r))
  let supervisor: WorkerSupervisor | null = null
  const app = createTetherServer(
    {
      dataDir,
      logger: pino({ level: 'silent' }),
      sessions: {
        auth: true,
        secret: 'bench-secret-for-multi-agent-0001',
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
  const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
  await server.ready()
  const address = server.node?.server?.address()
  if (!address || typeof address !== 'object') throw new Error('no address')
  const origin = `http://127.0.0.1:${address.port}`
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
      await server.close(true)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

interface AgentStateEvent {
  type?: string
  value?: { kind?: string; agentId?: string; lastHeartbeat?: unknown }
}

/** Creates a single-container session with `n` echo agents; ms until each has sent a heartbeat. */
async function timeToAllHeartbeats(app: App, n: number): Promise<number> {
  const ids = Array.from({ length: n }, (_, i) => `a${i + 1}`)
  const headers = { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' }
  const t0 = performance.now()
  const res = await fetch(`${app.url}/api/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ pattern: 'single-container', agents: ids.map((id) => ({ id, model: 'echo' })) }),
  })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  const { session } = (await res.json()) as { session: { id: string } }
  const controller = new AbortController()
  const live = await stream<AgentStateEvent>({
    url: `${app.url}/api/streams/sessions/${session.id}`,
    offset: '-1',
    live: 'sse',
    json: true,
    headers: { authorization: headers.authorization },
    signal: controller.signal,
    warnOnHttp: false,
  })
  const waiting = new Set(ids)
  try {
    return await new Promise<number>((resolveTime, reject) => {
      const timer = setTimeout(() => reject(new Error(`agents ${[...waiting].join(', ')} sent no heartbeat within 120 s`)), 120_000)
      live.subscribeJson((batch) => {
        for (const e of batch.items) {
          const v = e.value
          if (e.type === 'agent-state' && v?.kind === 'state' && typeof v.lastHeartbeat === 'number' && v.agentId) waiting.delete(v.agentId)
        }
        if (waiting.size === 0) {
          clearTimeout(timer)
          resolveTime(performance.now() - t0)
        }
      })
    })
  } finally {
    controller.abort()
    await fetch(`${app.url}/api/sessions/${session.id}/terminate`, { method: 'POST', headers, body: '{}' })
  }
}

async function waitForPool(app: App, runtime: RuntimeKind): Promise<void> {
  const deadline = Date.now() + 120_000
  while ((app.supervisor.pool(runtime)?.available ?? 0) < 1) {
    if (Date.now() > deadline) throw new Error('the warm pool did not fill')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Starts the Docker engine if needed and builds the worker image; false when impossible. */
async function prepareDocker(log: (m: string) => void): Promise<boolean> {
  try {
    const out = execFileSync('bash', [resolve(import.meta.dirname, '../../scripts/docker-engine.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const host = /DOCKER_HOST=(\S+)/.exec(out)?.[1]
    if (host) process.env.DOCKER_HOST = host
    await ensureWorkerImage({ docker: await connectDocker(), log })
    return true
  } catch (err) {
    log(`no Docker engine: ${(err as Error).message.split('\n')[0]}`)
    return false
  }
}

const metricKey = (mode: string, n: number) => `${mode}${n}`

const metrics: Metric[] = MODES.flatMap((mode) =>
  AGENT_COUNTS.map((n) => ({ key: metricKey(mode.key, n), label: `${mode.label}, ${n} agent${n > 1 ? 's' : ''}`, unit: 'ms', better: 'lower' as const, digits: 0 })),
)

export const multiAgentStart: Scenario = {
  id: 'multi-agent-start',
  title: 'multi-agent start: single-container session created → every agent heartbeats (median)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics,
  async run({ quick, log }) {
    const samples = quick ? 1 : 3
    const out: Record<string, number> = {}
    const docker = await prepareDocker(log)
    for (const mode of MODES) {
      if (mode.runtime === 'docker' && !docker) {
        for (const n of AGENT_COUNTS) out[metricKey(mode.key, n)] = Number.NaN
        continue
      }
      const app = await startApp(mode.runtime, mode.warm)
      try {
        if (mode.warm) await waitForPool(app, mode.runtime)
        await timeToAllHeartbeats(app, 1) // warm-up: bundle / image caches, JIT, the first claim
        for (const n of AGENT_COUNTS) {
          const times: number[] = []
          for (let i = 0; i < samples; i++) {
            if (mode.warm) await waitForPool(app, mode.runtime)
            times.push(await timeToAllHeartbeats(app, n))
            log(`${mode.label}, ${n} agents #${i + 1}: ${times.at(-1)!.toFixed(0)} ms`)
          }
          out[metricKey(mode.key, n)] = median(times)
        }
      } catch (err) {
        log(`${mode.label} failed: ${(err as Error).message}`)
        for (const n of AGENT_COUNTS) out[metricKey(mode.key, n)] ??= Number.NaN
      } finally {
        await app.close()
      }
    }
    return out
  },
}
