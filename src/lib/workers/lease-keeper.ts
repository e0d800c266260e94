/**
 * A node's side of the session leases (session-leases.ts): every `renewEveryMs` it renews what it
 * holds, heartbeats its capacity, and takes over sessions whose holder stopped renewing, telling
 * the supervisor which sessions it gained (start their workers under the lease's fence) and
 * which it lost (stop them). On SIGTERM `drain` stops each worker and releases its lease, so
 * another node takes the session at once instead of after the TTL.
 *
 * A node that cannot renew for a whole TTL (database unreachable) counts every lease as lost:
 * another node may already run those sessions, and two workers must never both run one.
 */
import type { Logger } from '../common/logger'
import { placeSession, type Lease, type LeaseStore } from './session-leases'

export interface LeaseKeeperOptions {
  store: LeaseStore
  nodeId: string
  /** Sessions this node may run at once (TETHER_NODE_CAPACITY). */
  capacity: number
  /** A lease lapses this long after its last renewal (default 6 s). */
  ttlMs?: number
  /** How often leases are renewed and lapsed ones swept (default 2 s: three tries per TTL). */
  renewEveryMs?: number
  /** This node now runs the session: start its worker with `lease.fence` as its producers' epoch. */
  onGained(lease: Lease): void | Promise<void>
  /** Another node runs it now (or this node can no longer tell): stop its worker here. */
  onLost(sessionId: string): void | Promise<void>
  log: Logger
}

export class LeaseKeeper {
  private readonly held = new Map<string, Lease>()
  private timer: NodeJS.Timeout | null = null
  private ticking: Promise<void> | null = null
  private draining = false
  private lastRenewedAt = Date.now()
  private readonly ttlMs: number
  private readonly renewEveryMs: number

  constructor(private readonly o: LeaseKeeperOptions) {
    this.ttlMs = o.ttlMs ?? 6_000
    this.renewEveryMs = o.renewEveryMs ?? 2_000
  }

  /** Sessions this node holds now, with their fences. */
  leases(): Lease[] {
    return [...this.held.values()]
  }

  async start(): Promise<void> {
    await this.tick()
    this.timer = setInterval(() => void this.tick(), this.renewEveryMs)
    this.timer.unref()
  }

  /** Stops renewing without releasing (a crash looks like this to the other nodes). */
  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** A new session: placed on the live node with the most free capacity (this one if none has heard from others). */
  async place(sessionId: string): Promise<Lease | null> {
    const best = placeSession(await this.o.store.liveNodes(this.ttlMs))
    if (best === null || best.nodeId === this.o.nodeId) return this.take(sessionId)
    return this.o.store.offer(sessionId, best.nodeId, this.ttlMs)
  }

  /** Takes a session here now if nobody runs it. */
  async take(sessionId: string): Promise<Lease | null> {
    if (this.draining) return null
    const lease = await this.o.store.acquire(sessionId, this.o.nodeId, this.ttlMs)
    if (lease) await this.gained(lease)
    return lease
  }

  /** The session ended here: its lease goes, so no node takes it over. */
  async forget(sessionId: string): Promise<void> {
    this.held.delete(sessionId)
    await this.o.store.forget(sessionId)
  }

  /** SIGTERM: take nothing new, stop each worker, then release its lease for another node to take at once. */
  async drain(): Promise<void> {
    this.draining = true
    this.stop()
    await this.ticking
    await this.o.store.heartbeat({ nodeId: this.o.nodeId, capacity: this.o.capacity, running: this.held.size, draining: true })
    for (const lease of [...this.held.values()]) {
      this.held.delete(lease.sessionId)
      await this.o.onLost(lease.sessionId)
      await this.o.store.release(lease.sessionId, this.o.nodeId, lease.fence)
    }
    await this.o.store.leave(this.o.nodeId)
  }

  /** One round: renew, heartbeat, take over lapsed sessions. Rounds never overlap. */
  tick(): Promise<void> {
    this.ticking ??= this.round()
      .catch((err) => this.o.log.warn({ err }, 'session leases: renewal failed'))
      .finally(() => {
        this.ticking = null
      })
    return this.ticking
  }

  private async round(): Promise<void> {
    const { store, nodeId } = this.o
    let renewed: Lease[]
    try {
      renewed = await store.renewAll(nodeId, this.ttlMs)
    } catch (err) {
      if (Date.now() - this.lastRenewedAt > this.ttlMs) await this.loseAll()
      throw err
    }
    this.lastRenewedAt = Date.now()
    const now = new Map(renewed.map((l) => [l.sessionId, l]))
    for (const sessionId of [...this.held.keys()]) {
      if (now.has(sessionId)) continue
      this.held.delete(sessionId)
      await this.o.onLost(sessionId)
    }
    // Offered to this node by another's placement, or re-taken under a new fence.
    for (const lease of renewed) await this.gained(lease)
    await store.heartbeat({ nodeId, capacity: this.o.capacity, running: this.held.size, draining: this.draining })
    if (this.draining || this.held.size >= this.o.capacity) return
    for (const lapsed of await store.lapsed(this.o.capacity - this.held.size)) {
      const lease = await store.acquire(lapsed.sessionId, nodeId, this.ttlMs)
      if (lease) await this.gained(lease)
    }
  }

  private async gained(lease: Lease): Promise<void> {
    const known = this.held.get(lease.sessionId)?.fence === lease.fence
    this.held.set(lease.sessionId, lease)
    if (!known) await this.o.onGained(lease)
  }

  private async loseAll(): Promise<void> {
    for (const sessionId of [...this.held.keys()]) {
      this.held.delete(sessionId)
      await this.o.onLost(sessionId)
    }
  }
}
