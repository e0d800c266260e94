/**
 * Keeps workers matched to live sessions (it implements the session layer's SessionWorkerCallbacks):
 * starts a worker when a session that needs one is created or resumed (from the warm pool when
 * one is ready), restarts a crashed worker with exponential backoff (the worker records the
 * restart in its agent-state), stops and removes it when the session ends or is suspended, and
 * reconciles: at server start it removes containers left by an earlier run whose sessions are
 * not live (and idle warm ones) and restarts the workers of live sessions; on every later call it
 * starts missing workers and stops workers of sessions that are no longer active.
 *
 * Worker exit codes: 0 = stopped on request (or its session ended), 75 = fenced by a newer worker;
 * neither is restarted. Anything else is a crash.
 */
import { silentLogger, type Logger } from '../common/logger'
import { EXIT_FENCED, EXIT_STOPPED } from '../common/session-contract'
import type { SessionWorkerCallbacks, WorkerCrash } from '../sessions/worker-callbacks'
import type { SessionRecord } from '../sessions/session-types'
import type { RuntimeKind, WorkerClaim, WorkerExit, WorkerInfo, WorkerRuntime } from './runtime'
import { WarmPool } from './warm-pool'
import { type SnapshotInfo, WorkspaceUnavailableError, type WorkspaceSnapshots } from './workspaces'

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
  factor: number
  /** A worker that ran this long before crashing restarts without delay (counter reset). */
  stableAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2, stableAfterMs: 60_000 }
export const DEFAULT_WARM_POOL: Record<RuntimeKind, number> = { process: 0, docker: 2 }
/** A claimed worker starts undisturbed before its replacement is created. */
const REFILL_DELAY_MS: Record<RuntimeKind, number> = { process: 200, docker: 1_000 }
/** One agent per session; its id is the worker token's subject and the author of its chunks. */
export const DEFAULT_AGENT_ID = 'agent'

export type RuntimeSource = WorkerRuntime | (() => Promise<WorkerRuntime>)

export interface SupervisorOptions {
  runtimes: Partial<Record<RuntimeKind, RuntimeSource>>
  /** Told of every crash (exit the worker did not ask for), before the restart is scheduled. */
  onWorkerCrashed?(crash: WorkerCrash): void
  defaultRuntime: RuntimeKind
  /** Base URL workers use to reach the server (a function when it is known only once listening). */
  serverUrl: string | (() => string | Promise<string>)
  /** Mints a worker token for (session, agent). */
  issueToken(sessionId: string, agentId: string): Promise<string>
  /** Warm pool size per runtime (default: process 0, docker 2). */
  warmPool?: Partial<Record<RuntimeKind, number>>
  agentId?: string
  /** Which sessions get a worker (default: those with an agent model or provider configured). */
  needsWorker?(session: SessionRecord): boolean
  backoff?: Partial<BackoffPolicy>
  logger?: Logger
  /** Stop every worker on close() (default true). */
  stopWorkersOnClose?: boolean
  /** Workspace snapshots (turn ends) and the seeding of new workers from them; none: no snapshots. */
  workspaces?: WorkspaceSnapshots
}

type Phase = 'starting' | 'running' | 'backoff' | 'stopping'

interface Tracked {
  sessionId: string
  runtime: RuntimeKind
  workerId: string | null
  /** Container id / pid of the current instance: exits of earlier instances are not crashes. */
  nativeId: string | null
  phase: Phase
  crashes: number
  /** Total restarts since the supervisor started tracking the session. */
  restarts: number
  startedAt: number
  timer: NodeJS.Timeout | null
}

/**
 * Delay before restarting a worker that crashed for the `crashes`-th time in a row (1-based)
 * after running `ranForMs`: immediately the first time, then exponential up to `maxMs`. A worker
 * that had run `stableAfterMs` counts as healthy again (its crash is a first one).
 */
export function restartDelay(
  crashes: number,
  ranForMs: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): { delayMs: number; crashes: number } {
  const n = ranForMs >= policy.stableAfterMs ? 1 : crashes
  const delayMs = n <= 1 ? 0 : Math.min(policy.maxMs, policy.initialMs * policy.factor ** (n - 2))
  return { delayMs, crashes: n }
}

export function defaultNeedsWorker(session: SessionRecord): boolean {
  return Boolean(session.agent?.model || session.agent?.provider)
}

/** Runtime for a session: `metadata.workerRuntime` when valid, else the server default. */
export function runtimeFor(session: SessionRecord, fallback: RuntimeKind): RuntimeKind {
  const chosen = session.metadata?.workerRuntime
  return chosen === 'process' || chosen === 'docker' ? chosen : fallback
}

export class WorkerSupervisor implements SessionWorkerCallbacks {
  private readonly tracked = new Map<string, Tracked>()
  private readonly runtimes = new Map<RuntimeKind, Promise<WorkerRuntime>>()
  private readonly pools = new Map<RuntimeKind, WarmPool>()
  /** Per-session operation chain: start / stop / restart never interleave for one session. */
  private readonly chains = new Map<string, Promise<void>>()
  private readonly backoff: BackoffPolicy
  private readonly log: Logger
  private reconciledOnce = false
  private closed = false
  private readonly unsubscribers: Array<() => void> = []

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.log = options.logger ?? silentLogger
  }

  get agentId(): string {
    return this.options.agentId ?? DEFAULT_AGENT_ID
  }

  /** The runtime of a kind, created and subscribed to on first use. */
  runtime(kind: RuntimeKind): Promise<WorkerRuntime> {
    let ready = this.runtimes.get(kind)
    if (!ready) {
      const source = this.options.runtimes[kind]
      if (!source) return Promise.reject(new Error(`worker runtime ${kind} is not configured on this server`))
      ready = (typeof source === 'function' ? source() : Promise.resolve(source)).then((runtime) => {
        this.unsubscribers.push(runtime.onExit((exit) => this.onWorkerExit(kind, exit)))
        const size = this.options.warmPool?.[kind] ?? DEFAULT_WARM_POOL[kind]
        if (size > 0 && !this.closed) {
          const pool = new WarmPool({
            runtime,
            size,
            refillDelayMs: REFILL_DELAY_MS[kind],
            onError: (err) => this.log.warn({ err, runtime: kind }, 'warm worker failed to start'),
          })
          this.pools.set(kind, pool)
          void pool.fill()
        }
        return runtime
      })
      ready.catch(() => this.runtimes.delete(kind))
      this.runtimes.set(kind, ready)
    }
    return ready
  }

  /** The warm pool of a runtime (created with the runtime), for tests and the benchmark. */
  pool(kind: RuntimeKind): WarmPool | undefined {
    return this.pools.get(kind)
  }

  /** The worker currently serving a session, if any. */
  workerOf(sessionId: string): { runtime: RuntimeKind; workerId: string | null; phase: Phase; restarts: number } | null {
    const t = this.tracked.get(sessionId)
    return t ? { runtime: t.runtime, workerId: t.workerId, phase: t.phase, restarts: t.restarts } : null
  }

  private chain(sessionId: string, op: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(sessionId) ?? Promise.resolve()).then(op, op).catch((err: unknown) => {
      this.log.error({ err, sessionId }, 'worker operation failed')
    })
    this.chains.set(sessionId, next)
    void next.finally(() => {
      if (this.chains.get(sessionId) === next) this.chains.delete(sessionId)
    })
    return next
  }

  private async claimFor(sessionId: string): Promise<WorkerClaim> {
    const { serverUrl } = this.options
    return {
      sessionId,
      serverUrl: typeof serverUrl === 'function' ? await serverUrl() : serverUrl,
      token: await this.options.issueToken(sessionId, this.agentId),
    }
  }

  /** Begins tracking a session's worker (not started yet: phase `starting`, no crashes or restarts). */
  private track(sessionId: string, runtime: RuntimeKind, workerId: string | null): Tracked {
    const t: Tracked = {
      sessionId,
      runtime,
      workerId,
      nativeId: null,
      phase: 'starting',
      crashes: 0,
      restarts: 0,
      startedAt: Date.now(),
      timer: null,
    }
    this.tracked.set(sessionId, t)
    return t
  }

  /** Starts a worker for the session unless one is tracked already. */
  ensure(session: SessionRecord): Promise<void> {
    if (this.closed) return Promise.resolve()
    return this.chain(session.id, async () => {
      if (this.tracked.has(session.id)) return
      const kind = runtimeFor(session, this.options.defaultRuntime)
      const t = this.track(session.id, kind, null)
      try {
        const runtime = await this.runtime(kind)
        const claim = await this.claimFor(session.id)
        const seedFrom = this.options.workspaces?.seedFor(session)
        // A seeded worker needs its files before it starts: never a warm one, which already runs.
        const warm = seedFrom ? undefined : this.pools.get(kind)?.take()
        let info: WorkerInfo
        if (warm) {
          try {
            info = await runtime.claim(warm.id, claim)
          } catch (err) {
            this.log.warn({ err, sessionId: session.id }, 'warm worker could not be claimed; starting a new one')
            void runtime.stop(warm.id).catch(() => {})
            info = await runtime.start(claim)
          }
        } else {
          info = await runtime.start(claim, seedFrom ? { seedFrom } : {})
        }
        if (this.tracked.get(session.id) !== t) {
          await runtime.stop(info.id).catch(() => {})
          return
        }
        t.workerId = info.id
        t.nativeId = info.nativeId
        t.phase = 'running'
        t.startedAt = Date.now()
        this.log.info({ sessionId: session.id, runtime: kind, workerId: info.id, warm: Boolean(warm) }, 'worker started')
      } catch (err) {
        this.tracked.delete(session.id)
        throw err
      }
    })
  }

  /** Stops and removes a session's worker. */
  stopSession(sessionId: string): Promise<void> {
    const t = this.tracked.get(sessionId)
    if (t) {
      t.phase = 'stopping'
      if (t.timer) clearTimeout(t.timer)
    }
    return this.chain(sessionId, async () => {
      const current = this.tracked.get(sessionId)
      if (!current) return
      current.phase = 'stopping'
      if (current.timer) clearTimeout(current.timer)
      this.tracked.delete(sessionId)
      if (!current.workerId) return
      const runtime = await this.runtime(current.runtime)
      await runtime.stop(current.workerId)
      this.log.info({ sessionId, workerId: current.workerId }, 'worker stopped')
    })
  }

  /** Copies the session's work dir to its snapshot of `turn` (POST :id/workspace-snapshots). */
  async snapshotWorkspace(sessionId: string, turn: number, info?: SnapshotInfo): Promise<{ turn: number; bytes: number }> {
    const t = this.tracked.get(sessionId)
    if (!this.options.workspaces) throw new WorkspaceUnavailableError('this server keeps no workspace snapshots')
    if (!t?.workerId || t.phase !== 'running') throw new WorkspaceUnavailableError(`no running worker serves session ${sessionId}`)
    const runtime = await this.runtime(t.runtime)
    const { workerId } = t
    const copy = runtime.snapshotWorkspace?.bind(runtime)
    if (!copy) throw new WorkspaceUnavailableError(`the ${t.runtime} runtime cannot snapshot work dirs`)
    return this.options.workspaces.take(sessionId, turn, (dest, max) => copy(workerId, dest, max), info)
  }

  workspaceSnapshot(sessionId: string, turn: number): SnapshotInfo | null {
    return this.options.workspaces?.info(sessionId, turn) ?? null
  }

  onSessionRemoved(sessionId: string): void {
    this.options.workspaces?.remove(sessionId)
  }

  private onWorkerExit(kind: RuntimeKind, exit: WorkerExit): void {
    const t = [...this.tracked.values()].find((x) => x.runtime === kind && x.workerId === exit.id)
    if (t?.phase !== 'running' || this.closed) return
    if (exit.nativeId && t.nativeId && exit.nativeId !== t.nativeId) return
    if (exit.exitCode === EXIT_STOPPED || exit.exitCode === EXIT_FENCED) {
      // The worker ended itself (stop request, session ended): clean it up, do not restart.
      this.log.info({ sessionId: t.sessionId, exitCode: exit.exitCode }, 'worker exited on its own')
      void this.stopSession(t.sessionId)
      return
    }
    const next = restartDelay(t.crashes + 1, Date.now() - t.startedAt, this.backoff)
    const delay = next.delayMs
    t.crashes = next.crashes
    t.phase = 'backoff'
    this.log.warn({ sessionId: t.sessionId, exitCode: exit.exitCode, delay, crashes: t.crashes }, 'worker crashed; restarting')
    this.options.onWorkerCrashed?.({ sessionId: t.sessionId, runtime: kind, exitCode: exit.exitCode, crashes: t.crashes, restartInMs: delay })
    t.timer = setTimeout(() => {
      t.timer = null
      void this.chain(t.sessionId, async () => {
        if (this.tracked.get(t.sessionId) !== t || t.phase !== 'backoff' || !t.workerId) return
        const runtime = await this.runtime(t.runtime)
        const info = await runtime.restart(t.workerId, await this.claimFor(t.sessionId))
        t.workerId = info.id
        t.nativeId = info.nativeId
        t.phase = 'running'
        t.restarts++
        t.startedAt = Date.now()
        this.log.info({ sessionId: t.sessionId, workerId: info.id, restarts: t.restarts }, 'worker restarted')
      })
    }, delay)
  }

  // --- SessionWorkerCallbacks -------------------------------------------------------------------

  onSessionCreated(session: SessionRecord): void {
    if ((this.options.needsWorker ?? defaultNeedsWorker)(session)) void this.ensure(session)
  }

  // Not awaited: the API call that ended the session need not wait for a container to go.
  onSessionEnded(session: SessionRecord): void {
    void this.stopSession(session.id)
  }

  onSessionSuspended(session: SessionRecord): void {
    void this.stopSession(session.id)
  }

  onSessionResumed(session: SessionRecord): void {
    if ((this.options.needsWorker ?? defaultNeedsWorker)(session)) void this.ensure(session)
  }

  async reconcile(activeSessions: SessionRecord[]): Promise<void> {
    if (this.closed) return
    const needs = this.options.needsWorker ?? defaultNeedsWorker
    const wanted = new Map(activeSessions.filter(needs).map((s) => [s.id, s]))
    if (!this.reconciledOnce) {
      this.reconciledOnce = true
      await this.adoptLeftovers(wanted)
    }
    for (const sessionId of [...this.tracked.keys()]) {
      if (!wanted.has(sessionId)) await this.stopSession(sessionId)
    }
    await Promise.all([...wanted.values()].map((s) => this.ensure(s)))
  }

  /**
   * Server start: workers left by an earlier run (containers survive a server crash). Those of
   * live sessions are restarted on their work volume with a fresh token; the rest are removed.
   */
  private async adoptLeftovers(wanted: Map<string, SessionRecord>): Promise<void> {
    for (const kind of Object.keys(this.options.runtimes) as RuntimeKind[]) {
      // Only look at runtimes already in use or that would be used; creating docker just to
      // look would fail on machines without it.
      const used =
        kind === this.options.defaultRuntime || [...wanted.values()].some((s) => runtimeFor(s, this.options.defaultRuntime) === kind)
      if (!used) continue
      let runtime: WorkerRuntime
      try {
        runtime = await this.runtime(kind)
      } catch (err) {
        this.log.error({ err, runtime: kind }, 'worker runtime unavailable')
        continue
      }
      for (const leftover of await runtime.list()) {
        if (!leftover.leftover) continue
        const session = leftover.sessionId ? wanted.get(leftover.sessionId) : undefined
        if (session && !this.tracked.has(session.id) && runtimeFor(session, this.options.defaultRuntime) === kind) {
          const t = this.track(session.id, kind, leftover.id)
          await this.chain(session.id, async () => {
            const info = await runtime.restart(leftover.id, await this.claimFor(session.id))
            t.workerId = info.id
            t.nativeId = info.nativeId
            t.phase = 'running'
            t.restarts++
            this.log.info({ sessionId: session.id, workerId: info.id }, 'worker from an earlier run restarted')
          })
          if (t.phase !== 'running') this.tracked.delete(session.id)
        } else {
          this.log.info({ workerId: leftover.id, sessionId: leftover.sessionId }, 'removing orphaned worker')
          await runtime
            .stop(leftover.id, { graceMs: 1_000 })
            .catch((err: unknown) => this.log.warn({ err }, 'could not remove an orphaned worker'))
        }
      }
      if ('removeOrphanVolumes' in runtime && typeof runtime.removeOrphanVolumes === 'function') {
        await (runtime.removeOrphanVolumes as () => Promise<number>)().catch(() => 0)
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer)
    await Promise.all([...this.pools.values()].map((p) => p.close()))
    if (this.options.stopWorkersOnClose !== false) {
      await Promise.all([...this.tracked.keys()].map((id) => this.stopSession(id)))
    }
    await Promise.all([...this.chains.values()])
    for (const unsubscribe of this.unsubscribers) unsubscribe()
    for (const ready of this.runtimes.values()) await ready.then((r) => r.close()).catch(() => {})
  }
}
