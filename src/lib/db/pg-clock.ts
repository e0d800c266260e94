/**
 * PostgreSQL's clock in ms, read inside a statement (SQL text to splice in): nodes judge leases
 * (session-leases-sql.ts) and stream watches (streams/pg/pg-watches.ts) by it, so their own clocks
 * may differ. A module of its own so that SQLite-only code importing it loads no driver.
 */
export const DB_NOW_MS = '(extract(epoch from clock_timestamp()) * 1000)::bigint'
