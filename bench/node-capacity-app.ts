/**
 * The whole Tether app for the node-capacity benchmark (bench/scenarios/node-capacity.ts), in its
 * own process so its CPU and RSS are its own: createTetherServer served by srvx, auth on, the
 * built-in SQLite streams server with TETHER_DURABILITY=normal (or PostgreSQL with
 * BENCH_DATABASE_URL set), workers off (the agents are
 * simulated by the load generator with worker tokens), default rate limits, metrics on, the
 * monitor every 5 s, as `npm start` runs it.
 *
 * Forked with IPC. Sends {type:'ready', origin, adminToken, pid}; answers {type:'loop'} with its event-loop delay
 * since the last ask, and {type:'tokens', ids}
 * with {type:'tokens', tokens: [{worker, viewerA, viewerB}]}: tokens are issued in here because
 * no endpoint hands out worker tokens for a session without a worker (the supervisor does it
 * in-process, supervisor-wiring.ts). SIGTERM closes the app.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { AGENT_ID, type SessionTokens, VIEWERS } from './scenarios/node-capacity'
import { metricsOn, startApp } from './scenarios/session-writer'

// The session-writer bench's app (built-in SQLite streams, normal durability, metrics on), or on
// PostgreSQL when the scenario hands a database URL (node-capacity-pg: one or two such nodes).
// The monitor ticks as in production (TETHER_MONITOR_INTERVAL_MS's default, 5 s): catching every
// live session up is part of what a node pays per session. BENCH_MONITOR_INTERVAL_MS=0 turns it off.
const monitorMs = Number(process.env.BENCH_MONITOR_INTERVAL_MS ?? 5_000)
const app = await startApp(undefined, metricsOn(), process.env.BENCH_DATABASE_URL || undefined, monitorMs)
process.send?.({ type: 'ready', origin: app.origin, adminToken: app.token, pid: process.pid })

// The app's own event-loop delay, read (and reset) by the scenario per step: a long stall (a WAL
// checkpoint, a GC, a compaction pass) shows as a high max with a low p50 delivery latency.
const loopDelay = monitorEventLoopDelay({ resolution: 5 })
loopDelay.enable()

process.on('message', async (msg: { type?: string; ids?: string[] }) => {
  if (msg.type === 'loop') {
    process.send?.({ type: 'loop', p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 })
    loopDelay.reset()
    return
  }
  if (msg.type !== 'tokens' || !msg.ids) return
  const issue = (role: 'worker' | 'viewer', sessionId: string, subject: string) =>
    app.issueToken({ role, sessionId, subject, ttlSeconds: 7200 })
  const tokens: SessionTokens[] = await Promise.all(
    msg.ids.map(async (id) => ({
      worker: await issue('worker', id, AGENT_ID),
      viewerA: await issue('viewer', id, VIEWERS[0]),
      viewerB: await issue('viewer', id, VIEWERS[1]),
    })),
  )
  process.send?.({ type: 'tokens', tokens })
})

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void app.close().finally(() => process.exit(0))
})
