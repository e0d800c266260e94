import { bigint, boolean, index, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * Which node runs a session's worker and monitor (src/lib/workers/session-leases*.ts;
 * specs/scale-out.md, "One supervisor per session: leases"). `fence` grows by one at every change
 * of holder (or lapse), so a worker started under an older lease is told apart from the new one.
 */
export const sessionLeases = pgTable(
  'session_leases',
  {
    sessionId: text('session_id').primaryKey(),
    nodeId: text('node_id').notNull(),
    fence: bigint('fence', { mode: 'number' }).notNull(),
    /** ms since the epoch, by the database's clock (no skew between nodes). */
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('session_leases_node_idx').on(t.nodeId), index('session_leases_expires_idx').on(t.expiresAt)],
)

/** Live Tether nodes and their free worker capacity (placement: new sessions go where most is free). */
export const tetherNodes = pgTable('tether_nodes', {
  nodeId: text('node_id').primaryKey(),
  /** Workers the node may run (TETHER_NODE_CAPACITY). */
  capacity: bigint('capacity', { mode: 'number' }).notNull(),
  /** Sessions whose lease it holds now. */
  running: bigint('running', { mode: 'number' }).notNull(),
  heartbeatAt: bigint('heartbeat_at', { mode: 'number' }).notNull(),
  /** Set while the node drains (SIGTERM): it takes no new sessions. */
  draining: boolean('draining').notNull(),
})
