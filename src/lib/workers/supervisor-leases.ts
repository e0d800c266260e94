/**
 * One supervisor per session across nodes (issue 14, specs/workers.md "Leases"): the supervisor
 * of a node that shares its database with others runs a session's workers only while it holds the
 * session's lease (session-leases.ts), which its LeaseKeeper renews.
 *
 * - A live session that needs workers and that no node runs is placed (`LeaseKeeper.place`): on
 *   the live node with the most free capacity. This node starts it when it took the lease, or
 *   when another node's placement offered it here (seen at the keeper's next renewal), or when
 *   its holder stopped renewing (the keeper's sweep of lapsed leases).
 * - A lost lease stops the session's workers here at once; a gained one starts them.
 * - Every worker start under a lease gets the producer epoch `leaseEpoch(fence, n)`, n counting
 *   this lease's starts on this node, so a newer lease's worker fences an older one's at its
 *   first append (IdempotentProducer epochs, specs/streams.md).
 * - `drain()` (SIGTERM; `close()` does it too unless workers outlive the app): no new leases, each
 *   worker stopped, its lease released for another node.
 * - A session that ended or went idle gives its lease up (`forget`), wherever the call came in.
 *
 * Which node runs a session is decided by the lease alone; the session callbacks only say what
 * should run. Agent-list changes made through another node reach the holder at its next reconcile.
 */
import { type Logger, silentLogger } from '../common/logger'
import type { SessionRecord } from '../sessions/session-types'
import { LeaseKeeper } from './lease-keeper'
import { type Lease, type LeaseStore, leaseEpoch } from './session-leases'
import { defaultNeedsWorker } from './supervisor-units'
import { type SupervisorOptions, WorkerSupervisor } from './supervisor'

export interface SessionLeaseOptions {
  store: LeaseStore
  /** This node's id in the lease table (TETHER_NODE_ID). */
  nodeId: string
  /** Sessions this node runs at once (TETHER_NODE_CAPACITY). */
  capacity: number
  /** A lease lapses this long after its last renewal (default 6 s). */
  ttlMs?: number
  /** Renewal and sweep period (default 2 s). */
  renewEveryMs?: number
  /** A session's record (a session another node offered here starts at once); without it: at the next reconcile. */
  sessionOf?(sessionId: string): Promise<SessionRecord | null> | SessionRecord | null
}

/** What this node holds, for readiness and metrics. */
export interface LeaseState {
  nodeId: string
  capacity: number
  held: number
  draining: boolean
}

/** The fence of each lease this node holds and how many worker starts it gave under it. */
class LeaseFences {
  private readonly byId = new Map<string, { fence: number; starts: number }>()

  set(lease: Lease): void {
    if (this.byId.get(lease.sessionId)?.fence !== lease.fence) this.byId.set(lease.sessionId, { fence: lease.fence, starts: 0 })
  }

  drop(sessionId: string): void {
    this.byId.delete(sessionId)
  }

  has(sessionId: string): boolean {
    return this.byId.has(sessionId)
  }

  /** The next start's epoch; throws when this node holds no lease (the start is refused and logged). */
  epochFor(sessionId: string): number {
    const f = this.byId.get(sessionId)
    if (!f) throw new Error(`session ${sessionId}: this node holds no lease for it, so it does not start its workers`)
    return leaseEpoch(f.fence, f.starts++)
  }
}

/** Reconciles a held lease may see its session missing (not active) before the lease is given up. */
const MISSING_ROUNDS = 2

export class LeasedWorkerSupervisor extends WorkerSupervisor {
  readonly keeper: LeaseKeeper
  private readonly fences: LeaseFences
  private readonly needsWorker: (session: SessionRecord) => boolean
  /** Live sessions needing workers, as of the last reconcile and the callbacks since. */
  private known = new Map<string, SessionRecord>()
  /** Live sessions placed (or found held elsewhere) already: not placed again on every reconcile. */
  private settled = new Set<string>()
  private readonly missing = new Map<string, number>()
  private readonly ready: Promise<void>
  private draining = false
  private drained: Promise<void> | null = null
  private readonly stopsWorkersOnClose: boolean
  private readonly logger: Logger

  constructor(
    options: SupervisorOptions,
    private readonly leases: SessionLeaseOptions,
  ) {
    const fences = new LeaseFences()
    super({ ...options, epochFor: (sessionId) => fences.epochFor(sessionId) })
    this.fences = fences
    this.needsWorker = options.needsWorker ?? defaultNeedsWorker
    this.stopsWorkersOnClose = options.stopWorkersOnClose !== false
    this.logger = options.logger ?? silentLogger
    this.keeper = new LeaseKeeper({
      store: leases.store,
      nodeId: leases.nodeId,
      capacity: leases.capacity,
      ...(leases.ttlMs ? { ttlMs: leases.ttlMs } : {}),
      ...(leases.renewEveryMs ? { renewEveryMs: leases.renewEveryMs } : {}),
      onGained: (lease) => this.gained(lease),
      onLost: (sessionId) => this.lost(sessionId),
      log: this.logger,
    })
    this.ready = this.startKeeper()
  }

  /**
   * Leases this node id held in an earlier process are released first: their fences' epochs were
   * handed out by that process, so this one must start under new fences (the sweep re-takes them).
   */
  private async startKeeper(): Promise<void> {
    const { store, nodeId, ttlMs } = this.leases
    try {
      for (const old of await store.renewAll(nodeId, ttlMs ?? 6_000)) await store.release(old.sessionId, nodeId, old.fence)
      await this.keeper.start()
    } catch (err) {
      // The keeper's rounds retry on their own; until one succeeds this node runs nothing.
      this.logger.error({ err, nodeId }, 'session leases: could not start')
      await this.keeper.start().catch(() => {})
    }
  }

  leaseState(): LeaseState {
    return { nodeId: this.leases.nodeId, capacity: this.leases.capacity, held: this.keeper.leases().length, draining: this.draining }
  }

  private async gained(lease: Lease): Promise<void> {
    this.fences.set(lease)
    this.settled.add(lease.sessionId)
    const record = this.known.get(lease.sessionId) ?? (await this.leases.sessionOf?.(lease.sessionId)) ?? null
    if (!record) return // started by the next reconcile, which lists it
    if (record.status === 'active' && this.needsWorker(record)) void this.ensure(record)
    else await this.giveUp(lease.sessionId)
  }

  private async lost(sessionId: string): Promise<void> {
    this.fences.drop(sessionId)
    await this.stopSession(sessionId)
  }

  private async giveUp(sessionId: string): Promise<void> {
    this.fences.drop(sessionId)
    this.known.delete(sessionId)
    this.missing.delete(sessionId)
    await this.keeper.forget(sessionId).catch((err: unknown) => this.logger.warn({ err, sessionId }, 'session leases: forget failed'))
  }

  private async place(session: SessionRecord): Promise<void> {
    if (!this.needsWorker(session)) return
    this.known.set(session.id, session)
    this.settled.add(session.id)
    try {
      await this.ready
      if (this.fences.has(session.id)) await this.ensure(session)
      else await this.keeper.place(session.id)
    } catch (err) {
      this.settled.delete(session.id) // placed again at the next reconcile
      this.logger.warn({ err, sessionId: session.id }, 'session leases: placement failed')
    }
  }

  override onSessionCreated(session: SessionRecord): void {
    void this.place(session)
  }

  override onSessionResumed(session: SessionRecord): void {
    void this.place(session)
  }

  override onSessionEnded(session: SessionRecord): void {
    super.onSessionEnded(session)
    this.settled.delete(session.id)
    void this.giveUp(session.id)
  }

  override onSessionSuspended(session: SessionRecord): void {
    super.onSessionSuspended(session)
    this.settled.delete(session.id)
    void this.giveUp(session.id)
  }

  override onSessionAgentsChanged(session: SessionRecord): Promise<void> {
    if (this.needsWorker(session)) this.known.set(session.id, session)
    // Only the holder runs workers; the others learn nothing they need.
    return this.fences.has(session.id) ? super.onSessionAgentsChanged(session) : Promise.resolve()
  }

  override async reconcile(activeSessions: SessionRecord[]): Promise<void> {
    await this.ready
    const wanted = activeSessions.filter((s) => this.needsWorker(s))
    this.known = new Map(wanted.map((s) => [s.id, s]))
    this.settled = new Set([...this.settled].filter((id) => this.known.has(id)))
    // A held lease whose session is no longer live (ended or idle through another node whose forget failed).
    for (const lease of this.keeper.leases()) {
      if (this.known.has(lease.sessionId)) {
        this.missing.delete(lease.sessionId)
        continue
      }
      const misses = (this.missing.get(lease.sessionId) ?? 0) + 1
      this.missing.set(lease.sessionId, misses)
      if (misses >= MISSING_ROUNDS) await this.giveUp(lease.sessionId)
    }
    if (!this.draining) {
      for (const s of wanted) if (!this.fences.has(s.id) && !this.settled.has(s.id)) await this.place(s)
    }
    await super.reconcile(wanted.filter((s) => this.fences.has(s.id)))
  }

  /** SIGTERM: take nothing new, stop each worker, release its lease so another node takes it at once. Once. */
  drain(): Promise<void> {
    this.drained ??= (async () => {
      this.draining = true
      await this.ready
      await this.keeper.drain()
    })()
    return this.drained
  }

  override async close(): Promise<void> {
    // Workers that stop with the app should not leave their sessions dead until the leases lapse:
    // close drains. Workers left running (stopWorkersOnClose: false) keep their leases until they lapse.
    if (this.stopsWorkersOnClose) await this.drain().catch((err: unknown) => this.logger.warn({ err }, 'session leases: drain failed'))
    else this.keeper.stop()
    await super.close()
  }
}
