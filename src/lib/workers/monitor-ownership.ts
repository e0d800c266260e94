/**
 * Which node's session monitor looks after a session when several nodes share the database
 * (issue 14: "a lease decides which node runs a session's worker and monitor"). Without this
 * every node's monitor would read every live session's stream on every tick, and two nodes could
 * both stop an agent at its turn limit.
 *
 * - A session with a live lease belongs to the lease's holder (the node running its worker).
 * - A session nobody holds (no agent, so no worker; or between holders) belongs to one live node
 *   chosen by rendezvous hashing of (node id, session id): every node computes the same owner from
 *   the same node list, and when a node joins or leaves only its share of sessions moves.
 *
 * The view is refreshed once per monitor pass (two reads). Nodes whose views differ for a moment
 * may both look after a session, or neither, for one pass: the monitor's actions are conditional
 * transitions, so a double look does no harm and a missed one is made up at the next pass.
 */
import { createHash } from 'node:crypto'
import type { LeaseStore } from './session-leases'

export interface MonitorOwnership {
  /** Reads the leases and live nodes; call at the start of a pass. */
  refresh(): Promise<void>
  /** Whether this node's monitor looks after the session in this pass. */
  owns(sessionId: string): boolean
}

/** The node a session without a holder goes to: the highest hash of node and session. */
export function rendezvousOwner(nodeIds: readonly string[], sessionId: string): string | null {
  let best: string | null = null
  let bestScore = ''
  for (const nodeId of nodeIds) {
    const score = createHash('sha256').update(nodeId).update('\0').update(sessionId).digest('hex')
    if (best === null || score > bestScore || (score === bestScore && nodeId < best)) {
      best = nodeId
      bestScore = score
    }
  }
  return best
}

/**
 * `nodeId()` is this node's id once its lease keeper runs (null before, or with workers off: then
 * this node looks after every session, as one node does).
 */
export function monitorOwnership(store: LeaseStore, nodeId: () => string | null, nodeTtlMs = 6_000): MonitorOwnership {
  let holders = new Map<string, string>()
  let nodes: string[] = []
  return {
    async refresh() {
      const me = nodeId()
      if (me === null) return
      holders = new Map((await store.held()).map((l) => [l.sessionId, l.nodeId]))
      // Draining nodes are left out of liveNodes: their sessions without a holder move now.
      nodes = (await store.liveNodes(nodeTtlMs)).map((n) => n.nodeId)
      if (!nodes.includes(me)) nodes.push(me)
    },
    owns(sessionId) {
      const me = nodeId()
      if (me === null || nodes.length === 0) return true
      const holder = holders.get(sessionId)
      if (holder !== undefined) return holder === me
      return rendezvousOwner(nodes, sessionId) === me
    },
  }
}
