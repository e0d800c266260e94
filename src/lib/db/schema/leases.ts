import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Which node runs a session's worker and monitor (src/lib/workers/session-leases*.ts;
 * specs/scale-out.md, "One supervisor per session: leases"). `fence` grows by one at every change
 * of holder (or lapse), so a worker started under an older lease is told apart from the new one.
 * On SQLite there is one node and it holds every lease; the table is here so both engines share
 * one lease protocol and one contract test.
 */
export const sessionLeases = sqliteTable(
  'session_leases',
  {
    sessionId: text('session_id').primaryKey(),
    nodeId: text('node_id').notNull(),
    fence: integer('fence').notNull(),
    /** ms since the epoch, by the database's clock on PostgreSQL. */
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('session_leases_node_idx').on(t.nodeId), index('session_leases_expires_idx').on(t.expiresAt)],
)

/** Live Tether nodes and their free worker capacity (placement: new sessions go where most is free). */
export const tetherNodes = sqliteTable('tether_nodes', {
  nodeId: text('node_id').primaryKey(),
  /** Workers the node may run (TETHER_NODE_CAPACITY). */
  capacity: integer('capacity').notNull(),
  /** Sessions whose lease it holds now. */
  running: integer('running').notNull(),
  heartbeatAt: integer('heartbeat_at').notNull(),
  /** Set while the node drains (SIGTERM): it takes no new sessions. */
  draining: integer('draining', { mode: 'boolean' }).notNull(),
})
