/**
 * Worker health checks (issue #12): a worker writes an agent-state heartbeat every `heartbeatMs`
 * (src/worker/agent-state.ts) while it lives. A worker the supervisor believes is running that
 * has sent none for `misses` intervals (hung event loop, SIGSTOPped, a frozen container) is
 * alive to its runtime but serves nobody: the watch SIGKILLs it through its runtime, and the
 * supervisor's exit handling then restarts it exactly like a crash (counted, backed off, logged).
 *
 * Heartbeats are timed by their arrival at the gate (server clock), not by the worker's own
 * timestamp, so clock skew in a container cannot hide a silent worker. A new instance (start,
 * restart) gets the same allowance from its start before its first heartbeat is due.
 */
import type { Logger } from '../common/logger'
import type { SessionEvent } from '../sessions/session-events'
import type { RuntimeKind, WorkerRuntime } from './runtime'

export const DEFAULT_HEARTBEAT_MS = 3_000
export const DEFAULT_HEARTBEAT_MISSES = 5
/** A new worker may take this long to its first heartbeat (cold container start under load). */
const MIN_START_ALLOWANCE_MS = 30_000

/** True when a raw append carries an agent's state heartbeat (`kind: 'state'` with lastHeartbeat). */
export function hasHeartbeat(events: readonly SessionEvent[]): boolean {
  return heartbeatAgents(events).length > 0
}

/** The agents whose state heartbeat a raw append carries (a worker per agent beats for its own). */
export function heartbeatAgents(events: readonly SessionEvent[]): string[] {
  const agents = new Set<string>()
  for (const e of events) {
    if (e.type !== 'agent-state') continue
    const v = e.value as { kind?: unknown; lastHeartbeat?: unknown; agentId?: unknown } | undefined
    if (v && v.kind !== 'control' && v.kind !== 'turn' && v.kind !== 'roster' && typeof v.lastHeartbeat === 'number') {
      agents.add(typeof v.agentId === 'string' ? v.agentId : '')
    }
  }
  return [...agents]
}

interface WatchedWorker {
  runtime: RuntimeKind
  workerId: string | null
  phase: string
  restarts: number
  /** The unit's agent and whether it is the session's main unit (issue #15; absent: the main one). */
  agentId?: string
  primary?: boolean
}

/** What the watch needs of the supervisor (public, read-only except the runtime's kill). */
export interface WatchedSupervisor {
  workerOf(sessionId: string): WatchedWorker | null
  /** Every worker unit of the session; without it, only the main one is watched. */
  workersOf?(sessionId: string): WatchedWorker[]
  runtime(kind: RuntimeKind): Promise<WorkerRuntime>
}

export interface HeartbeatWatchOptions {
  supervisor: WatchedSupervisor
  heartbeatMs?: number
  /** Intervals without a heartbeat before a worker counts as stale (0: never). */
  misses?: number
  logger: Logger
  now?: () => number
}

interface Seen {
  /** workerId + restarts: a new instance resets the clock. */
  instance: string
  since: number
  lastBeat: number | null
  /** Killed for silence: not again until a new instance runs. */
  killed: boolean
}

/** A unit's key in the watch: the session id for its main unit (what check() answers for it). */
const keyOf = (sessionId: string, w: WatchedWorker): string =>
  w.primary === false && w.agentId ? `${sessionId}@${w.agentId}` : sessionId

export class HeartbeatWatch {
  /** Sessions whose workers are watched. */
  private readonly sessions = new Set<string>()
  /** By unit key. */
  private readonly seen = new Map<string, Seen>()
  private readonly now: () => number
  private timer: NodeJS.Timeout | null = null
  readonly staleAfterMs: number
  private readonly startAllowanceMs: number
  /** Workers killed for silence so far (tests, metrics). */
  kills = 0

  constructor(private readonly o: HeartbeatWatchOptions) {
    this.now = o.now ?? Date.now
    const interval = o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS
    this.staleAfterMs = interval * (o.misses ?? DEFAULT_HEARTBEAT_MISSES)
    this.startAllowanceMs = Math.max(this.staleAfterMs, MIN_START_ALLOWANCE_MS)
  }

  get enabled(): boolean {
    return this.staleAfterMs > 0
  }

  /** Checks every heartbeat interval (unref'd: never keeps the process alive). */
  start(): void {
    if (!this.enabled || this.timer) return
    this.timer = setInterval(() => void this.check(), this.o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)
    this.timer.unref()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  private workersOf(sessionId: string): WatchedWorker[] {
    const { supervisor } = this.o
    if (supervisor.workersOf) return supervisor.workersOf(sessionId)
    const main = supervisor.workerOf(sessionId)
    return main ? [main] : []
  }

  /** A session whose workers should be watched (from reconcile, start, resume). */
  watch(sessionId: string): void {
    this.sessions.add(sessionId)
    for (const w of this.workersOf(sessionId)) this.entry(sessionId, w)
  }

  /**
   * Heartbeats of the session arrived: of `agentIds` (each beats the unit hosting it: its own,
   * else the main one, which hosts every agent of a single-container session), or of unknown
   * agents (every unit of the session).
   */
  beat(sessionId: string, agentIds?: readonly string[]): void {
    const workers = this.workersOf(sessionId)
    if (workers.length > 0) this.sessions.add(sessionId)
    const beating =
      agentIds && agentIds.length > 0
        ? workers.filter((w) => agentIds.some((a) => a === w.agentId || (w.primary !== false && !workers.some((x) => x.agentId === a))))
        : workers
    for (const w of beating) {
      const e = this.entry(sessionId, w)
      if (e) e.lastBeat = this.now()
    }
  }

  private entry(sessionId: string, w: WatchedWorker): Seen | null {
    const key = keyOf(sessionId, w)
    if (w.phase !== 'running' || !w.workerId) return this.seen.get(key) ?? null
    const instance = `${w.workerId}#${w.restarts}`
    let e = this.seen.get(key)
    if (!e || e.instance !== instance) {
      e = { instance, since: this.now(), lastBeat: null, killed: false }
      this.seen.set(key, e)
    }
    return e
  }

  /** Kills each running worker that has been silent too long; answers the units acted on (a session id for its main one). */
  async check(): Promise<string[]> {
    const acted: string[] = []
    const now = this.now()
    const live = new Set<string>()
    for (const sessionId of [...this.sessions]) {
      const workers = this.workersOf(sessionId)
      if (workers.length === 0) this.sessions.delete(sessionId)
      for (const w of workers) {
        const key = keyOf(sessionId, w)
        live.add(key)
        const e = this.entry(sessionId, w)
        if (!e || e.killed || w.phase !== 'running' || !w.workerId) continue
        const silentMs = e.lastBeat === null ? now - e.since : now - e.lastBeat
        const allowed = e.lastBeat === null ? this.startAllowanceMs : this.staleAfterMs
        if (silentMs <= allowed) continue
        // Once per instance: the restart makes a new one (or the unit is gone).
        e.killed = true
        acted.push(key)
        this.kills++
        this.o.logger.warn(
          { sessionId, agentId: w.agentId, workerId: w.workerId, runtime: w.runtime, silentMs, staleAfterMs: allowed },
          'worker heartbeat stale; killing it (restarted as a crash)',
        )
        try {
          const runtime = await this.o.supervisor.runtime(w.runtime)
          if (!runtime.kill) throw new Error(`the ${w.runtime} runtime cannot kill a worker`)
          await runtime.kill(w.workerId)
        } catch (err) {
          this.o.logger.error({ err, sessionId, workerId: w.workerId }, 'could not kill a silent worker')
        }
      }
    }
    for (const key of [...this.seen.keys()]) if (!live.has(key)) this.seen.delete(key)
    return acted
  }
}
