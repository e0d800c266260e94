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
  for (const e of events) {
    if (e.type !== 'agent-state') continue
    const v = e.value as { kind?: unknown; lastHeartbeat?: unknown } | undefined
    if (v && v.kind !== 'control' && v.kind !== 'turn' && typeof v.lastHeartbeat === 'number') return true
  }
  return false
}

/** What the watch needs of the supervisor (public, read-only except the runtime's kill). */
export interface WatchedSupervisor {
  workerOf(sessionId: string): { runtime: RuntimeKind; workerId: string | null; phase: string; restarts: number } | null
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
}

export class HeartbeatWatch {
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

  /** A session whose worker should be watched (from reconcile, start, resume). */
  watch(sessionId: string): void {
    // A placeholder until the worker runs: its first check starts the instance's clock.
    if (!this.entry(sessionId)) this.seen.set(sessionId, { instance: '', since: this.now(), lastBeat: null })
  }

  beat(sessionId: string): void {
    const e = this.entry(sessionId)
    if (e) e.lastBeat = this.now()
  }

  private entry(sessionId: string): Seen | null {
    const w = this.o.supervisor.workerOf(sessionId)
    if (w?.phase !== 'running' || !w.workerId) return this.seen.get(sessionId) ?? null
    const instance = `${w.workerId}#${w.restarts}`
    let e = this.seen.get(sessionId)
    if (!e || e.instance !== instance) {
      e = { instance, since: this.now(), lastBeat: null }
      this.seen.set(sessionId, e)
    }
    return e
  }

  /** Kills each running worker that has been silent too long; answers the sessions acted on. */
  async check(): Promise<string[]> {
    const acted: string[] = []
    const now = this.now()
    for (const sessionId of [...this.seen.keys()]) {
      const w = this.o.supervisor.workerOf(sessionId)
      if (!w) {
        this.seen.delete(sessionId)
        continue
      }
      const e = this.entry(sessionId)
      if (!e || w.phase !== 'running' || !w.workerId) continue
      const silentMs = e.lastBeat === null ? now - e.since : now - e.lastBeat
      const allowed = e.lastBeat === null ? this.startAllowanceMs : this.staleAfterMs
      if (silentMs <= allowed) continue
      // Once per instance: the restart makes a new one (or the session is gone).
      this.seen.delete(sessionId)
      acted.push(sessionId)
      this.kills++
      this.o.logger.warn(
        { sessionId, workerId: w.workerId, runtime: w.runtime, silentMs, staleAfterMs: allowed },
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
    return acted
  }
}
