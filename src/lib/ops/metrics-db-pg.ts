/**
 * The database half of /metrics on PostgreSQL (issue #14): the same two reads as
 * sqliteMetricsReader in metrics-db.ts, for SessionMetrics.registerFrom. There is no file to
 * measure, so `tether_sqlite_file_bytes` is not registered on this engine.
 */
import type { Sql } from 'postgres'
import type { MetricsDbReader, ModelUsageRow, SessionCountRow } from './metrics-db'

export function pgMetricsReader(sql: Sql): MetricsDbReader {
  return {
    // count(*) is bigint, read as a number (db/postgres.ts).
    sessionsByStatus: async () => [...(await sql<SessionCountRow[]>`SELECT status, pattern, count(*) AS n FROM sessions GROUP BY status, pattern`)],
    // sum(bigint) is numeric (a string from the driver): float8 keeps it a number, exact below 2^53.
    // Names tie-break bytewise (COLLATE "C"), as SQLite orders text.
    modelUsage: async () => [
      ...(await sql<ModelUsageRow[]>`
        SELECT model, sum(input_tokens)::float8 AS tin, sum(output_tokens)::float8 AS tout, sum(cost_usd) AS cost
        FROM model_calls WHERE status != 'running' GROUP BY model ORDER BY sum(cost_usd) DESC, model COLLATE "C"`),
    ],
  }
}
