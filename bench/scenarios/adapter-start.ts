/**
 * Agent program start (issue #11, bar 5): a session whose agent runs an external program (the
 * `opencode` adapter: `opencode serve`; the `claude-agent-sdk` adapter: Claude Code), in docker,
 * cold (a new container from the worker image, which carries both programs) and warm (a warm-pool
 * container claimed). Two times per session:
 *   - heartbeat: `POST /api/sessions` → the agent's first heartbeat (agent-state `kind:'state'`
 *     with lastHeartbeat, read live over SSE): the container and the worker are up;
 *   - first answer: then `POST …/messages "hello"` → its turn record `done`: the program started
 *     (the worker starts it when the agent goes live), one model call through the worker's proxy to
 *     the gateway's native Anthropic endpoint serving `echo`, the answer streamed into the stream.
 * A baseline row runs the same session with Tether's own loop: what the program itself adds.
 * Targets from seed 004: a first session in 5-10 s, a container start in 2-5 s (upper ends).
 * Median of the samples per cell; NaN ("failed") when no Docker engine can be started or a turn
 * fails. Not a streams-server measurement: runs once, on ours.
 *
 *   npm run bench -- --only opencode-start [--quick]
 *   npm run bench -- --only claude-sdk-start [--quick]
 */
import { stream } from '@durable-streams/client'
import { median } from '../stats'
import type { Metric, Scenario } from './types'
import { prepareDocker, startWorkerApp, waitForPool, type WorkerApp } from '../worker-app'

const MODES = [
  { key: 'cold', label: 'docker cold', warm: 0 },
  { key: 'warm', label: 'docker warm claim', warm: 1 },
] as const

interface StreamEvent {
  type?: string
  value?: { kind?: string; agentId?: string; lastHeartbeat?: unknown; status?: string; reason?: string }
}

/** One session: ms to the first heartbeat, and to the first message's turn ending done. */
async function startAndAnswer(app: WorkerApp, adapter: string): Promise<{ heartbeat: number; answer: number }> {
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
  // The same session with Tether's own loop: what the program itself adds to the first answer.
  {
    key: 'warmTetherAnswer',
    label: 'docker warm claim, tether adapter (baseline): first answer done',
    unit: 'ms',
    better: 'lower',
    digits: 0,
  },
]

function adapterStart(adapter: 'opencode' | 'claude-agent-sdk', id: string): Scenario {
  return {
    id,
    title: `${adapter} start: session created → first heartbeat, → first answer (docker, median)`,
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
          const app = await startWorkerApp('docker', mode.warm, 'adapter-start')
          try {
            if (mode.warm) await waitForPool(app, 'docker')
            await startAndAnswer(app, adapter) // warm-up: page cache for the image, JIT, the first claim
            for (let i = 0; i < samples; i++) {
              if (mode.warm) await waitForPool(app, 'docker')
              const t = await startAndAnswer(app, adapter)
              heartbeats.push(t.heartbeat)
              answers.push(t.answer)
              log(`${mode.label} #${i + 1}: heartbeat ${t.heartbeat.toFixed(0)} ms, answer ${t.answer.toFixed(0)} ms`)
            }
            if (mode.warm) {
              const baseline: number[] = []
              for (let i = 0; i < samples; i++) {
                await waitForPool(app, 'docker')
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
}

export const opencodeStart = adapterStart('opencode', 'opencode-start')
export const claudeSdkStart = adapterStart('claude-agent-sdk', 'claude-sdk-start')
