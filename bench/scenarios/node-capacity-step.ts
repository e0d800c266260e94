/**
 * One node-capacity load step (node-capacity.ts): the open-loop schedules of chunk, cursor and
 * heartbeat writes over every live session, with what the step measured: delivery, write answer
 * times, each app node's CPU, RSS and event-loop delay, and on PostgreSQL the database's CPU,
 * WAL flushes and deadlocks.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Pool } from 'undici'
import { cpuSecondsOf, memoryOf } from '../proc'
import { now, percentile, Samples, sleep } from '../stats'

export const AGENT_ID = 'agent'
export const VIEWERS = ['viewer-a', 'viewer-b'] as const
export interface SessionTokens {
  worker: string
  viewerA: string
  viewerB: string
}

const CHUNK_INTERVAL_MS = 200
const CURSOR_INTERVAL_MS = 100
const HEARTBEAT_INTERVAL_MS = 10_000
const DRAIN_MS = 2_000
/** Unmeasured load before each step's window (the first step also warms the app's JIT). */
export const WARMUP_MS = 2_000
/** The first step's: the app's first seconds under load (JIT, pools filling) stalled it for up to ~0.4 s. */
export const FIRST_WARMUP_MS = 5_000
/** More writes than this in flight: the app has fallen behind the open-loop schedule. */
const MAX_IN_FLIGHT = 20_000
export const SEND_TIME = /"delta":"t=([0-9.]+);/g
export const MiB = 1024 * 1024

export interface App {
  origin: string
  adminToken: string
  pid: number
  tokens(ids: string[]): Promise<SessionTokens[]>
  /** The app's event-loop delay since the last call (ms). */
  loopDelay(): Promise<{ p99: number; max: number }>
  close(): Promise<void>
}

export interface LiveSession {
  id: string
  tokens: SessionTokens
  chunks: number
  /** Where its agent writes, and where its viewers read and send presence (node-capacity-pg's split). */
  agentPool: Pool
  viewerPool: Pool
  viewerOrigin: string
}

async function postJson(pool: Pool, path: string, token: string, body: unknown): Promise<number> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
  await res.body.dump()
  return res.statusCode
}

const presence = (userId: string, cursor: { x: number; y: number } | null) => {
  const t = Date.now()
  return {
    channel: 'presence',
    data: {
      id: userId,
      userId,
      displayName: userId,
      color: '#3b82f6',
      status: 'active',
      cursor,
      role: 'viewer',
      lastSeen: t,
      timestamp: t,
    },
  }
}

export interface StepResult {
  n: number
  p50: number
  p99: number
  delivered: number
  expected: number
  failed: number
  firstFailure: string
  /** Per node (node 1 first). */
  serverCores: number[]
  rss: number[]
  /** The database's processes (PostgreSQL only; NaN otherwise), in cores. */
  dbCores: number
  /** Cluster-wide WAL flushes per second in the window (PostgreSQL only). */
  walSyncs: number
  walBytes: number
  /** Deadlocks PostgreSQL broke in this database during the window (each cost deadlock_timeout). */
  deadlocks: number
  loopP99: number
  selfCores: number
  /** The agent's chunk POSTs in the window: answer time p50/p99 (ms). */
  writeP50: number
  writeP99: number
  /** The app's own event-loop delay during the measured window (ms), the worst node's. */
  appLoopP99: number
  appLoopMax: number
}

export interface DbCounters {
  syncs: number
  bytes: number
  deadlocks: number
}

/** What the PostgreSQL runs measure of the database (node-capacity-pg.ts). */
export interface DatabaseProbe {
  /** Pids of the server processes working for this database (its backends, the WAL writer). */
  pids(): Promise<number[]>
  /** Cluster-wide pg_stat_wal counters, and this database's deadlocks (pg_stat_database). */
  counters(): Promise<DbCounters>
}

/** One load step over every session: `warmupMs` unmeasured, `stepMs` measured, then a drain. */
export async function runStep(
  apps: App[],
  database: DatabaseProbe | undefined,
  sessions: LiveSession[],
  stepMs: number,
  warmupMs: number,
  startMeasuring: (from: number) => void,
  measured: () => Samples,
): Promise<StepResult> {
  const n = sessions.length
  let inFlight = 0
  let failed = 0
  let firstFailure = ''
  let chunksMeasured = 0
  let measureStart = Number.POSITIVE_INFINITY
  // How long the agent's chunk POSTs take (answered), to tell slow writes from slow delivery.
  const chunkWrites = new Samples()
  const send = (pool: Pool, token: string, sessionId: string, body: unknown, chunk = false) => {
    inFlight++
    const t0 = now()
    postJson(pool, `/api/streams?sessionId=${sessionId}`, token, body)
      .then(
        (status) => {
          if (chunk && t0 >= measureStart) chunkWrites.push(now() - t0)
          if (status >= 300) {
            failed++
            firstFailure ||= `HTTP ${status}`
          }
        },
        (e: Error) => {
          failed++
          firstFailure ||= e.message
        },
      )
      .finally(() => inFlight--)
  }
  // Three evenly spaced schedules over all sessions (event j goes to session j mod n).
  const kinds = [
    {
      every: CHUNK_INTERVAL_MS / n,
      fire: (s: LiveSession) => {
        const k = s.chunks++
        const t = now()
        if (t >= measureStart) chunksMeasured++
        send(
          s.agentPool,
          s.tokens.worker,
          s.id,
          {
            channel: 'chunk',
            data: {
              messageId: `m${Math.floor(k / 50)}`,
              role: 'assistant',
              author: AGENT_ID,
              turn: 0,
              seq: k % 50,
              delta: `t=${t.toFixed(3)};${'x'.repeat(80)}`,
            },
          },
          true,
        )
      },
    },
    {
      every: CURSOR_INTERVAL_MS / n,
      fire: (s: LiveSession) => send(s.viewerPool, s.tokens.viewerA, s.id, presence(VIEWERS[0], { x: Math.random(), y: Math.random() })),
    },
    {
      every: HEARTBEAT_INTERVAL_MS / (2 * n),
      fire: (s: LiveSession, j: number) =>
        send(s.viewerPool, j % (2 * n) < n ? s.tokens.viewerA : s.tokens.viewerB, s.id, presence(VIEWERS[j % (2 * n) < n ? 0 : 1], null)),
    },
  ]
  // The database's processes, known before the window (their CPU is read at its start).
  const dbPids = database ? await database.pids() : []
  let wal0: DbCounters = { syncs: 0, bytes: 0, deadlocks: 0 }
  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  const start = now()
  const end = start + warmupMs + stepMs
  const counters = kinds.map(() => 0)
  let db0 = new Map<number, number>()
  let cpu0 = { server: [0], self: process.cpuUsage(), at: 0 }
  while (now() < end && inFlight < MAX_IN_FLIGHT) {
    const t = now()
    if (measureStart === Number.POSITIVE_INFINITY && t >= start + warmupMs) {
      measureStart = t
      startMeasuring(t)
      loopDelay.enable()
      cpu0 = { server: apps.map((a) => cpuSecondsOf(a.pid)), self: process.cpuUsage(), at: t }
      db0 = new Map(dbPids.map((pid) => [pid, cpuOrNaN(pid)]))
      void database?.counters().then((w) => {
        wal0 = w
      })
      for (const app of apps) void app.loopDelay() // resets the app's histogram: the window starts here
    }
    kinds.forEach((kind, k) => {
      while (start + counters[k] * kind.every <= t) {
        const j = counters[k]++
        kind.fire(sessions[j % n], j)
      }
    })
    await sleep(2)
  }
  if (inFlight >= MAX_IN_FLIGHT) {
    failed++
    firstFailure ||= `${inFlight} writes in flight: the app fell behind`
  }
  const wall = (now() - cpu0.at) / 1000
  const serverCores = apps.map((a, i) => (cpuSecondsOf(a.pid) - cpu0.server[i]) / wall)
  // Backends that connected during the window count whole (they started in it).
  let dbSeconds = 0
  for (const pid of database ? [...new Set([...dbPids, ...(await database.pids())])] : []) {
    const d = cpuOrNaN(pid) - (db0.get(pid) ?? 0)
    if (Number.isFinite(d)) dbSeconds += d
  }
  const wal1 = database ? await database.counters() : wal0
  const self = process.cpuUsage(cpu0.self)
  loopDelay.disable()
  const appLoops = await Promise.all(apps.map((a) => a.loopDelay()))
  const rss = apps.map((a) => memoryOf(a.pid).rss)
  const expected = 2 * chunksMeasured
  const drainEnd = now() + DRAIN_MS
  while ((measured().length < expected || inFlight > 0) && now() < drainEnd) await sleep(20)
  const got = measured().values()
  const all = new Float64Array(Math.max(expected, got.length))
  all.set(got)
  all.fill(Number.POSITIVE_INFINITY, got.length)
  startMeasuring(Number.POSITIVE_INFINITY) // stop recording until the next step
  // Let writes still queued finish before the next step adds sessions.
  const settle = now() + 10_000
  while (inFlight > 0 && now() < settle) await sleep(20)
  return {
    n,
    p50: percentile(all, 50),
    p99: percentile(all, 99),
    delivered: got.length,
    expected,
    failed,
    firstFailure,
    serverCores,
    rss,
    dbCores: database ? dbSeconds / wall : Number.NaN,
    walSyncs: database ? (wal1.syncs - wal0.syncs) / wall : Number.NaN,
    walBytes: database ? (wal1.bytes - wal0.bytes) / wall : Number.NaN,
    deadlocks: database ? wal1.deadlocks - wal0.deadlocks : Number.NaN,
    loopP99: loopDelay.percentile(99) / 1e6,
    selfCores: (self.user + self.system) / 1e6 / wall,
    writeP50: percentile(chunkWrites.values(), 50),
    writeP99: percentile(chunkWrites.values(), 99),
    appLoopP99: Math.max(...appLoops.map((l) => l.p99)),
    appLoopMax: Math.max(...appLoops.map((l) => l.max)),
  }
}

/** A process's CPU seconds, NaN once it has exited. */
function cpuOrNaN(pid: number): number {
  try {
    return cpuSecondsOf(pid)
  } catch {
    return Number.NaN
  }
}
