/**
 * One supervisor per session across nodes (issue 14, specs/scale-out.md "leases"): a lease row
 * says which node runs a session's worker and monitor, until when, under which fence.
 *
 * - A node takes a session (`acquire`) when nobody holds it, when its holder's lease lapsed, or
 *   when it was offered to this node (placement). Every new holder, and every new start after a
 *   lapse or a release, gets the fence + 1: the fence is the epoch of the worker's producers,
 *   so the stream refuses a worker of an older lease the moment the new one writes.
 * - A holder renews all its leases in one statement; a lease another node took is gone from the
 *   answer, and the keeper (lease-keeper.ts) stops that session's worker.
 * - `release` (drain, SIGTERM) ends a lease at once so another node takes it without waiting for
 *   expiry; `forget` drops the lease of a session that ended.
 * - On PostgreSQL times are the database's clock, so nodes' clocks may differ.
 */
import type { MaybePromise } from '../streams/engine'

export interface Lease {
  sessionId: string
  nodeId: string
  fence: number
  /** ms since the epoch, by the store's clock. */
  expiresAt: number
}

export interface NodeInfo {
  nodeId: string
  /** Workers the node may run. */
  capacity: number
  /** Leases it holds now. */
  running: number
  heartbeatAt: number
  draining: boolean
}

export interface LeaseStore {
  /** Takes (or renews, if already ours and live) a session's lease; null while another node holds it. */
  acquire(sessionId: string, nodeId: string, ttlMs: number): MaybePromise<Lease | null>
  /** Assigns a session that nobody holds to `nodeId` (placement); it starts it on its next renewal. */
  offer(sessionId: string, nodeId: string, ttlMs: number): MaybePromise<Lease | null>
  /** Renews every lease `nodeId` holds, lapsed or not, as long as no other node took it; returns them all. */
  renewAll(nodeId: string, ttlMs: number): MaybePromise<Lease[]>
  /** Ends a lease now (only with its current fence), so another node may take it at once. */
  release(sessionId: string, nodeId: string, fence: number): MaybePromise<boolean>
  /** The session ended: its lease goes. */
  forget(sessionId: string): MaybePromise<void>
  /** Leases whose holder stopped renewing, oldest first. */
  lapsed(limit: number): MaybePromise<Lease[]>
  holder(sessionId: string): MaybePromise<Lease | null>
  /** Every lease not lapsed, whoever holds it. */
  held(): MaybePromise<Lease[]>
  /** Writes the node's capacity and load; `draining` nodes get no new sessions. */
  heartbeat(node: Omit<NodeInfo, 'heartbeatAt'>): MaybePromise<void>
  /** Nodes heard from within `ttlMs` and not draining, most free capacity first. */
  liveNodes(ttlMs: number): MaybePromise<NodeInfo[]>
  leave(nodeId: string): MaybePromise<void>
}

/** The node a new session should run on: the live one with the most free workers, or null if all are full. */
export function placeSession(nodes: readonly NodeInfo[]): NodeInfo | null {
  const best = nodes.find((n) => !n.draining && n.capacity > n.running)
  return best ?? null
}

/**
 * Producer epochs under a lease. The fence orders nodes, the start count orders the restarts of one
 * lease: epoch = 2^44 + fence * 2^20 + start, so any worker of a newer lease claims a larger epoch
 * than every worker of an older one, whatever the nodes' clocks say, and the stream fences the
 * older one (403) at the newer one's first append. 2^44 ms is the year 2527: above every
 * time-based epoch a worker without a lease ever took (max(now, own timestamps + 1)), and the
 * worker stamps events with its own clock when its epoch is this large (publisher.ts). Fits in
 * 2^53 (Producer-Epoch's range) for fences below 2^33 - 2^24.
 */
export const LEASE_EPOCH_BASE = 2 ** 44
const STARTS_PER_FENCE = 2 ** 20

export function leaseEpoch(fence: number, start: number): number {
  if (!Number.isSafeInteger(fence) || fence < 1) throw new RangeError(`lease fence ${fence} is not a positive integer`)
  // A lease restarting its worker a million times is stuck anyway; capping keeps the order between fences.
  const epoch = LEASE_EPOCH_BASE + fence * STARTS_PER_FENCE + Math.min(Math.max(0, start), STARTS_PER_FENCE - 1)
  if (!Number.isSafeInteger(epoch)) throw new RangeError(`lease fence ${fence} is too large for a producer epoch`)
  return epoch
}
