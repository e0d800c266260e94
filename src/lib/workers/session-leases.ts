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
