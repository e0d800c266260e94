/**
 * OpenCode session start (issue #11, bar 5): a session whose agent runs the opencode adapter, in
 * docker, cold (a new container from the worker image carrying the opencode binary) and warm (a
 * warm-pool container claimed). Two times per session:
 *   - heartbeat: `POST /api/sessions` → the agent's first heartbeat (agent-state `kind:'state'`
 *     with lastHeartbeat, read live over SSE): the container and the worker are up;
 *   - first answer: then `POST …/messages "hello"` → its turn record `done`: `opencode serve`
 *     spawned and answering (the adapter starts it on the first turn), an opencode session made,
 *     one model call through the worker's proxy to the gateway's native Anthropic endpoint serving
 *     `echo`, the answer streamed into the stream.
 * Targets from seed 004: a first session in 5-10 s, a container start in 2-5 s (upper ends).
 * Median of the samples per cell; NaN ("failed") when no Docker engine can be started or a turn
 * fails. Not a streams-server measurement: runs once, on ours.
 *
 *   npm run bench -- --only opencode-start [--quick]
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
import type { WorkerSupervisor } from '../../src/lib/workers/supervisor'
import { createWorkerCallbacks } from '../../src/lib/workers/supervisor-wiring'
import { median } from '../stats'
import type { Metric, Scenario } from './types'

const MODES = [
  { key: 'cold', label: 'docker cold', warm: 0 },
  { key: 'warm', label: 'docker warm claim', warm: 1 },
] as const

interface App {
  url: string
  adminToken: string
  supervisor: WorkerSupervisor
  close(): Promise<void>
}

async function startApp(warm: number): Promise<App> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-bench-opencode-'))
  let resolveUrl!: (u: string) => void
  const url = new Promise<string>((r) => (resolveUrl = r))
  let supervisor: WorkerSupervisor | null = null
  const app = createTetherServer(
    {
      dataDir,
      logger: pino({ level: 'silent' }),
      sessions: {
        auth: true,
        secret: 'bench-secret-for-opencode-start-01',
        monitorIntervalMs: 0,
        ephemeralRemoveAfterMs: 60_000,
        retentionDays: 1,
        maxEventBodyBytes: 1 << 20,
        defaultLimits: {},
      },
    },
    createWorkerCallbacks({
      dataDir,
      config: { enabled: true, runtime: 'docker', warmPool: { process: 0, docker: warm } },
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
  await sup.runtime('docker')
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

interface StreamEvent {
  type?: string
  value?: { kind?: string; agentId?: string; lastHeartbeat?: unknown; status?: string; reason?: string }
}

/** One session: ms to the first heartbeat, and to the first message's turn ending done. */
async function startAndAnswer(app: App, adapter = 'opencode'): Promise<{ heartbeat: number; answer: number }> {
  const headers = { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' }
  const t0 = performance.now()
  const res = await fetch(`${app.url}/api/sessions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ pattern: 'long-running', agent: { model: 'echo', adapter } }),
  })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  const { session } = (await res.json()) as { session: { id: string } }
  const controller = new AbortController()
  const live = await stream<StreamEvent>({
    url: `${app.url}/api/streams/sessions/${session.id}`,
    offset: '-1',
    live: 'sse',
    json: true,
    headers: { authorization: headers.authorization },
    signal: controller.signal,
    warnOnHttp: false,
  })
  try {
    return await new Promise((resolveTimes, reject) => {
      const timer = setTimeout(() => reject(new Error('no heartbeat or answer within 180 s')), 180_000)
      let heartbeat: number | null = null
      live.subscribeJson((batch) => {
        for (const e of batch.items) {
          const v = e.value
          if (e.type !== 'agent-state' || !v) continue
          if (heartbeat === null && v.kind === 'state' && typeof v.lastHeartbeat === 'number') {
            heartbeat = performance.now() - t0
            void fetch(`${app.url}/api/sessions/${session.id}/messages`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ text: 'hello' }),
            })
          }
          if (heartbeat !== null && v.kind === 'turn' && (v.status === 'done' || v.status === 'failed')) {
            clearTimeout(timer)
            if (v.status === 'failed') reject(new Error(`the turn failed: ${v.reason ?? '?'}`))
            else resolveTimes({ heartbeat, answer: performance.now() - t0 })
          }
        }
      })
    })
  } finally {
    controller.abort()
    await fetch(`${app.url}/api/sessions/${session.id}/terminate`, { method: 'POST', headers, body: '{}' })
  }
}

async function waitForPool(app: App): Promise<void> {
  const deadline = Date.now() + 180_000
  while ((app.supervisor.pool('docker')?.available ?? 0) < 1) {
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
    const started = performance.now()
    const image = await ensureWorkerImage({ docker: await connectDocker(), log })
    log(`worker image ${image.ref} ${image.built ? `built in ${(performance.now() - started).toFixed(0)} ms` : 'up to date'}`)
    return true
  } catch (err) {
    log(`no Docker engine: ${(err as Error).message.split('\n')[0]}`)
    return false
  }
}

const metrics: Metric[] = [
  ...MODES.flatMap((mode) => [
    {
      key: `${mode.key}Heartbeat`,
      label: `${mode.label}: session → first heartbeat`,
      unit: 'ms',
      better: 'lower' as const,
      digits: 0,
      target: { op: '<=' as const, value: 5_000, text: 'seed 004: container 2-5 s' },
    },
    {
      key: `${mode.key}Answer`,
      label: `${mode.label}: session → first answer done`,
      unit: 'ms',
      better: 'lower' as const,
      digits: 0,
      target: { op: '<=' as const, value: 10_000, text: 'seed 004: first session 5-10 s' },
    },
  ]),
  // The same session with Tether's own loop: what opencode itself adds to the first answer.
  {
    key: 'warmTetherAnswer',
    label: 'docker warm claim, tether adapter (baseline): first answer done',
    unit: 'ms',
    better: 'lower',
    digits: 0,
  },
]

export const opencodeStart: Scenario = {
  id: 'opencode-start',
  title: 'opencode start: session created → first heartbeat, → first answer (docker, median)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics,
  async run({ quick, log }) {
    const samples = quick ? 1 : 3
    const out: Record<string, number> = {}
    const docker = await prepareDocker(log)
    for (const mode of MODES) {
      const heartbeats: number[] = []
      const answers: number[] = []
      if (docker) {
        const app = await startApp(mode.warm)
        try {
          if (mode.warm) await waitForPool(app)
          await startAndAnswer(app) // warm-up: page cache for the image, JIT, the first claim
          for (let i = 0; i < samples; i++) {
            if (mode.warm) await waitForPool(app)
            const t = await startAndAnswer(app)
            heartbeats.push(t.heartbeat)
            answers.push(t.answer)
            log(`${mode.label} #${i + 1}: heartbeat ${t.heartbeat.toFixed(0)} ms, answer ${t.answer.toFixed(0)} ms`)
          }
          if (mode.warm) {
            const baseline: number[] = []
            for (let i = 0; i < samples; i++) {
              await waitForPool(app)
              baseline.push((await startAndAnswer(app, 'tether')).answer)
              log(`${mode.label}, tether adapter #${i + 1}: answer ${baseline.at(-1)!.toFixed(0)} ms`)
            }
            out.warmTetherAnswer = median(baseline)
          }
        } catch (err) {
          log(`${mode.label} failed: ${(err as Error).message}`)
        } finally {
          await app.close()
        }
      }
      out[`${mode.key}Heartbeat`] = heartbeats.length ? median(heartbeats) : Number.NaN
      out[`${mode.key}Answer`] = answers.length ? median(answers) : Number.NaN
    }
    out.warmTetherAnswer ??= Number.NaN
    return out
  },
}
