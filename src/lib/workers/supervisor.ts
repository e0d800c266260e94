/**
 * Keeps workers matched to live sessions (it implements the session layer's SessionWorkerCallbacks).
 * It tracks worker units (supervisor-units.ts): one per single-container session, one per agent
 * otherwise. It starts a session's units when it is created or resumed (from the warm pool when
 * one is ready), starts and stops units as its agent list changes, restarts a crashed worker with
 * exponential backoff (the worker records the restart in its agent-state), stops and removes
 * them when the session ends or is suspended, and reconciles: at server start it removes
 * containers left by an earlier run whose units are not wanted (and idle warm ones) and restarts
 * the workers of wanted units; on every later call it starts missing units and stops the rest.
 *
 * Worker exit codes: 0 = stopped on request (or its session ended), 75 = fenced by a newer worker;
 * neither is restarted. Anything else is a crash.
 */
import { silentLogger, type Logger } from '../common/logger'
import { EXIT_FENCED, EXIT_STOPPED } from '../common/session-contract'
import type { SessionWorkerCallbacks, WorkerCrash } from '../sessions/worker-callbacks'
import type { SessionRecord } from '../sessions/session-types'
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import type { RuntimeKind, WorkerClaim, WorkerExit, WorkerInfo, WorkerRuntime } from './runtime'
import {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  defaultNeedsWorker,
  restartDelay,
  runtimeFor,
  type Tracked,
  type Unit,
  type UnitWorker,
  unitStillServes,
  unitsOf,
  viewOf,
} from './supervisor-units'
import { claimSessionOf } from './claim-session'
import { adoptLeftovers } from './supervisor-leftovers'
import { type RuntimeSource, SupervisorRuntimes } from './supervisor-runtimes'
import type { WarmPool } from './warm-pool'
import { type SnapshotInfo, WorkspaceUnavailableError, type WorkspaceSnapshots } from './workspaces'

export { DEFAULT_WARM_POOL, type RuntimeSource } from './supervisor-runtimes'
/** The agent of a session created with one `agent` config; a per-agent worker's token names its own. */
export { DEFAULT_AGENT_ID }
export { DEFAULT_BACKOFF, defaultNeedsWorker, restartDelay, runtimeFor, type BackoffPolicy } from './supervisor-units'

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
  /** The agent of a session that needs a worker but lists none (default `agent`). */
  agentId?: string
  /** Which sessions get workers (default: those with agents). */
  needsWorker?(session: SessionRecord): boolean
  backoff?: Partial<BackoffPolicy>
  logger?: Logger
  /** Stop every worker on close() (default true). */
  stopWorkersOnClose?: boolean
  /** Workspace snapshots (turn ends) and the seeding of new workers from them; none: no snapshots. */
  workspaces?: WorkspaceSnapshots
  /** The producer epoch of a session's next worker start (its lease, supervisor-leases.ts); throws when it may not start. */
  epochFor?(sessionId: string): number | undefined
}

export class WorkerSupervisor implements SessionWorkerCallbacks {
  /** By unit key: the session id for a session's main unit, `<sessionId>@<agentId>` for the others. */
  private readonly tracked = new Map<string, Tracked>()
  private readonly runtimeSet: SupervisorRuntimes
  /** Per-unit operation chain: start / stop / restart never interleave for one unit. */
  private readonly chains = new Map<string, { sessionId: string; done: Promise<void> }>()
  private readonly backoff: BackoffPolicy
  private readonly log: Logger
  private reconciledOnce = false
  private closed = false

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.log = options.logger ?? silentLogger
    const { runtimes: sources, warmPool } = options
    const onExit = (kind: RuntimeKind, exit: WorkerExit) => this.onWorkerExit(kind, exit)
    this.runtimeSet = new SupervisorRuntimes({ sources, ...(warmPool ? { warmPool } : {}), onExit, isClosed: () => this.closed, log: this.log })
  }

  get agentId(): string {
    return this.options.agentId ?? DEFAULT_AGENT_ID
  }

  private needs(session: SessionRecord): boolean {
    return (this.options.needsWorker ?? defaultNeedsWorker)(session)
  }

  private unitsOf(session: SessionRecord): Unit[] {
    return unitsOf(session, this.agentId)
  }

  /** The runtime of a kind, created and subscribed to on first use. */
  runtime(kind: RuntimeKind): Promise<WorkerRuntime> {
    return this.runtimeSet.get(kind)
  }

  /** The warm pool of a runtime (created with the runtime), for tests and the benchmark. */
  pool(kind: RuntimeKind): WarmPool | undefined {
    return this.runtimeSet.pool(kind)
  }

  /** The worker of a session's main unit (the default agent's), if any. */
  workerOf(sessionId: string): UnitWorker | null {
    const t = this.tracked.get(sessionId)
    return t ? viewOf(t) : null
  }

  /** Every unit's worker of a session, the main one first. */
  workersOf(sessionId: string): UnitWorker[] {
    return [...this.tracked.values()]
      .filter((t) => t.unit.sessionId === sessionId)
      .sort((a, b) => Number(b.unit.primary) - Number(a.unit.primary))
      .map(viewOf)
  }

  private chain(unit: Pick<Unit, 'key' | 'sessionId'>, op: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(unit.key)?.done ?? Promise.resolve()
    const done = previous.then(op, op).catch((err: unknown) => {
      this.log.error({ err, sessionId: unit.sessionId, unit: unit.key }, 'worker operation failed')
    })
    const entry = { sessionId: unit.sessionId, done }
    this.chains.set(unit.key, entry)
    void done.finally(() => {
      if (this.chains.get(unit.key) === entry) this.chains.delete(unit.key)
    })
    return done
  }

  private async claimFor(unit: Unit, session?: SessionRecord): Promise<WorkerClaim> {
    const { serverUrl } = this.options
    const epoch = this.options.epochFor?.(unit.sessionId)
    return {
      ...(epoch !== undefined ? { epoch } : {}),
      sessionId: unit.sessionId,
      serverUrl: typeof serverUrl === 'function' ? await serverUrl() : serverUrl,
      token: await this.options.issueToken(unit.sessionId, unit.agentId),
      // Only per-agent workers beside the main one carry it: the main one keeps today's names.
      ...(unit.primary ? {} : { agentId: unit.agentId }),
      ...(unit.extraMemoryBytes > 0 ? { extraMemoryBytes: unit.extraMemoryBytes } : {}),
      ...(session ? { session: claimSessionOf(session) } : {}),
    }
  }

  /** Begins tracking a unit's worker (not started yet: phase `starting`, no crashes or restarts). */
  private track(unit: Unit, runtime: RuntimeKind, workerId: string | null): Tracked {
    const t: Tracked = { unit, runtime, workerId, nativeId: null, phase: 'starting', crashes: 0, restarts: 0, startedAt: Date.now(), timer: null }
    this.tracked.set(unit.key, t)
    return t
  }

  /** Starts the workers a session needs (one per unit) unless they are tracked already. */
  ensure(session: SessionRecord): Promise<void> {
    if (this.closed) return Promise.resolve()
    return Promise.all(this.unitsOf(session).map((unit) => this.ensureUnit(session, unit))).then(() => {})
  }

  private ensureUnit(session: SessionRecord, unit: Unit): Promise<void> {
    return this.chain(unit, async () => {
      const existing = this.tracked.get(unit.key)
      if (existing) {
        if (unitStillServes(existing.unit.agentId, unit, session)) return this.resizeIfNeeded(existing, unit)
        // The default agent changed (or was removed): the main unit's worker restarts as the new
        // one in the same work dir, so the session's files stay where its terminal and snapshots are.
        if (existing.phase === 'running' && existing.workerId) return this.restartAs(existing, existing.workerId, unit)
        await this.stopTracked(existing)
      }
      if (this.closed) return
      const kind = runtimeFor(session, this.options.defaultRuntime)
      const t = this.track(unit, kind, null)
      try {
        const runtime = await this.runtime(kind)
        const claim = await this.claimFor(unit, session)
        // The main unit's work dir is the session's (forks seed it; snapshots copy it).
        const seedFrom = unit.primary ? this.options.workspaces?.seedFor(session) : undefined
        // A seeded worker needs its files before it starts: never a warm one, which already runs.
        const warm = seedFrom ? undefined : this.pool(kind)?.take()
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
        if (this.tracked.get(unit.key) !== t) {
          await runtime.stop(info.id).catch(() => {})
          return
        }
        t.workerId = info.id
        t.nativeId = info.nativeId
        t.phase = 'running'
        t.startedAt = Date.now()
        const { agentId } = unit
        this.log.info({ sessionId: session.id, agentId, runtime: kind, workerId: info.id, warm: Boolean(warm) }, 'worker started')
      } catch (err) {
        if (this.tracked.get(unit.key) === t) this.tracked.delete(unit.key)
        throw err
      }
    })
  }

  /** A running worker whose agents changed gets the memory its agent programs now need. */
  private async resizeIfNeeded(t: Tracked, unit: Unit): Promise<void> {
    if (t.unit.extraMemoryBytes === unit.extraMemoryBytes) return
    t.unit = { ...t.unit, extraMemoryBytes: unit.extraMemoryBytes }
    if (t.phase !== 'running' || !t.workerId) return // its next start claims with the new size
    const runtime = await this.runtime(t.runtime)
    await runtime.resize?.(t.workerId, unit.extraMemoryBytes)
  }

  /** Restarts a running unit's worker with another agent's claim (inside its chain). */
  private async restartAs(t: Tracked, workerId: string, unit: Unit): Promise<void> {
    // Not `running` meanwhile: the old instance's exit is not a crash.
    t.phase = 'starting'
    const runtime = await this.runtime(t.runtime)
    const info = await runtime.restart(workerId, await this.claimFor(unit))
    Object.assign(t, { unit, workerId: info.id, nativeId: info.nativeId, phase: 'running', crashes: 0, startedAt: Date.now() })
    this.log.info({ sessionId: unit.sessionId, agentId: unit.agentId, workerId: info.id }, 'worker restarted for another agent')
  }

  /** Stops a tracked unit's worker now (inside its chain). */
  private async stopTracked(t: Tracked): Promise<void> {
    t.phase = 'stopping'
    if (t.timer) clearTimeout(t.timer)
    if (this.tracked.get(t.unit.key) === t) this.tracked.delete(t.unit.key)
    if (!t.workerId) return
    const runtime = await this.runtime(t.runtime)
    await runtime.stop(t.workerId)
    this.log.info({ sessionId: t.unit.sessionId, agentId: t.unit.agentId, workerId: t.workerId }, 'worker stopped')
  }

  /** Stops and removes one unit's worker. */
  private stopUnit(unit: Pick<Unit, 'key' | 'sessionId'>): Promise<void> {
    const t = this.tracked.get(unit.key)
    if (t) {
      t.phase = 'stopping'
      if (t.timer) clearTimeout(t.timer)
    }
    return this.chain(unit, async () => {
      const current = this.tracked.get(unit.key)
      if (current) await this.stopTracked(current)
    })
  }

  /** Stops and removes every worker of a session (including units still starting). */
  stopSession(sessionId: string): Promise<void> {
    const keys = new Set<string>()
    for (const t of this.tracked.values()) if (t.unit.sessionId === sessionId) keys.add(t.unit.key)
    for (const [key, c] of this.chains) if (c.sessionId === sessionId) keys.add(key)
    return Promise.all([...keys].map((key) => this.stopUnit({ key, sessionId }))).then(() => {})
  }

  /** Copies the session's work dir (its main unit's) to its snapshot of `turn` (POST :id/workspace-snapshots). */
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
    const { unit } = t
    if (exit.exitCode === EXIT_STOPPED || exit.exitCode === EXIT_FENCED) {
      // The worker ended itself (stop request, session ended, its agent removed): clean it up, do not restart.
      this.log.info({ sessionId: unit.sessionId, agentId: unit.agentId, exitCode: exit.exitCode }, 'worker exited on its own')
      void this.stopUnit(unit)
      return
    }
    const next = restartDelay(t.crashes + 1, Date.now() - t.startedAt, this.backoff)
    const delay = next.delayMs
    t.crashes = next.crashes
    t.phase = 'backoff'
    const { sessionId, agentId } = unit
    this.log.warn({ sessionId, agentId, exitCode: exit.exitCode, delay, crashes: t.crashes }, 'worker crashed; restarting')
    this.options.onWorkerCrashed?.({ sessionId: unit.sessionId, runtime: kind, exitCode: exit.exitCode, crashes: t.crashes, restartInMs: delay })
    t.timer = setTimeout(() => {
      t.timer = null
      void this.chain(unit, async () => {
        if (this.tracked.get(unit.key) !== t || t.phase !== 'backoff' || !t.workerId) return
        const runtime = await this.runtime(t.runtime)
        const info = await runtime.restart(t.workerId, await this.claimFor(unit))
        t.workerId = info.id
        t.nativeId = info.nativeId
        t.phase = 'running'
        t.restarts++
        t.startedAt = Date.now()
        this.log.info({ sessionId: unit.sessionId, agentId: unit.agentId, workerId: info.id, restarts: t.restarts }, 'worker restarted')
      })
    }, delay)
  }

  // --- SessionWorkerCallbacks -------------------------------------------------------------------

  onSessionCreated(session: SessionRecord): void {
    if (this.needs(session)) void this.ensure(session)
  }

  // Not awaited: the API call that ended the session need not wait for a container to go.
  onSessionEnded(session: SessionRecord): void {
    void this.stopSession(session.id)
  }

  onSessionSuspended(session: SessionRecord): void {
    void this.stopSession(session.id)
  }

  onSessionResumed(session: SessionRecord): void {
    if (this.needs(session)) void this.ensure(session)
  }

  /**
   * The session's agent list or routing changed: units of removed agents stop, added agents'
   * start (an idle session's start when it resumes). A single-container session keeps its one
   * worker, which follows the roster itself.
   */
  onSessionAgentsChanged(session: SessionRecord): Promise<void> {
    if (this.closed) return Promise.resolve()
    const wanted = new Set(this.needs(session) ? this.unitsOf(session).map((u) => u.key) : [])
    const stops = [...this.tracked.values()]
      .filter((t) => t.unit.sessionId === session.id && !wanted.has(t.unit.key))
      .map((t) => this.stopUnit(t.unit))
    const starts = session.status === 'active' && wanted.size > 0 ? [this.ensure(session)] : []
    return Promise.all([...stops, ...starts]).then(() => {})
  }

  async reconcile(activeSessions: SessionRecord[]): Promise<void> {
    if (this.closed) return
    const sessions = activeSessions.filter((s) => this.needs(s))
    const wanted = new Map(sessions.flatMap((s) => this.unitsOf(s).map((u) => [u.key, { unit: u, session: s }] as const)))
    if (!this.reconciledOnce) {
      this.reconciledOnce = true
      await adoptLeftovers(
        {
          kinds: Object.keys(this.options.runtimes) as RuntimeKind[],
          defaultRuntime: this.options.defaultRuntime,
          runtime: (kind) => this.runtime(kind),
          isTracked: (key) => this.tracked.has(key),
          adopt: (unit, kind, runtime, id) => this.adopt(unit, kind, runtime, id),
          log: this.log,
        },
        wanted,
      )
    }
    for (const t of [...this.tracked.values()]) {
      if (!wanted.has(t.unit.key)) await this.stopUnit(t.unit)
    }
    await Promise.all(sessions.map((s) => this.ensure(s)))
  }

  /** Server start: a worker left by an earlier run that serves a wanted unit is restarted as it (supervisor-leftovers.ts). */
  private adopt(unit: Unit, kind: RuntimeKind, runtime: WorkerRuntime, leftoverId: string): Promise<void> {
    const t = this.track(unit, kind, leftoverId)
    return this.chain(unit, async () => {
      const info = await runtime.restart(leftoverId, await this.claimFor(unit))
      Object.assign(t, { workerId: info.id, nativeId: info.nativeId, phase: 'running', restarts: t.restarts + 1 })
      this.log.info({ sessionId: unit.sessionId, agentId: unit.agentId, workerId: info.id }, 'worker from an earlier run restarted')
    }).then(() => {
      if (t.phase !== 'running' && this.tracked.get(unit.key) === t) this.tracked.delete(unit.key)
    })
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const t of this.tracked.values()) if (t.timer) clearTimeout(t.timer)
    await this.runtimeSet.closePools()
    if (this.options.stopWorkersOnClose !== false) {
      await Promise.all([...this.tracked.values()].map((t) => this.stopUnit(t.unit)))
    }
    await Promise.all([...this.chains.values()].map((c) => c.done))
    await this.runtimeSet.close()
  }
}
