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
import { median } from '../stats'
import type { Metric, Scenario } from './types'
import { prepareDocker, startWorkerApp, waitForPool, type WorkerApp } from '../worker-app'

const AGENT_COUNTS = [1, 3, 10] as const
const MODES = [
  { key: 'dockerCold', label: 'docker cold', runtime: 'docker', warm: 0 },
  { key: 'dockerWarm', label: 'docker warm claim', runtime: 'docker', warm: 1 },
  { key: 'processCold', label: 'process cold', runtime: 'process', warm: 0 },
] as const

interface AgentStateEvent {
  type?: string
  value?: { kind?: string; agentId?: string; lastHeartbeat?: unknown }
}

/** Creates a single-container session with `n` echo agents; ms until each has sent a heartbeat. */
async function timeToAllHeartbeats(app: WorkerApp, n: number): Promise<number> {
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

const metricKey = (mode: string, n: number) => `${mode}${n}`

const metrics: Metric[] = MODES.flatMap((mode) =>
  AGENT_COUNTS.map((n) => ({
    key: metricKey(mode.key, n),
    label: `${mode.label}, ${n} agent${n > 1 ? 's' : ''}`,
    unit: 'ms',
    better: 'lower' as const,
    digits: 0,
  })),
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
      const app = await startWorkerApp(mode.runtime, mode.warm, 'multi-agent')
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
