/**
 * The database half of `GET /api/ready` (readiness.ts) on PostgreSQL (issue #14).
 * - writable: a `SELECT 1` on a connection opened for the check, not one from the pool: pooled
 *   connections can stay up while new ones fail (max_connections reached, credentials changed,
 *   the server restarting), and a node that cannot connect cannot serve. The same query reads
 *   transaction_read_only, which is `on` on a hot standby or a database set read-only.
 * - migrations: drizzle's own table (drizzle.__drizzle_migrations) counted against
 *   drizzle/pg/meta/_journal.json.
 */
import postgres, { type Sql } from 'postgres'
import { compareMigrations, journalLength, type ReadinessCheck } from './readiness'

/** Seconds the check may take to connect, and then to answer. */
const CHECK_TIMEOUT_S = 5

export async function pgDatabaseWritable(url: string): Promise<ReadinessCheck> {
  const sql = postgres(url, {
    max: 1,
    connect_timeout: CHECK_TIMEOUT_S,
    onnotice: () => {},
    connection: { statement_timeout: CHECK_TIMEOUT_S * 1000, application_name: 'tether-readiness' },
  })
  try {
    const [row] = await sql<{ ro: string }[]>`SELECT 1 AS one, current_setting('transaction_read_only') AS ro`
    return row?.ro === 'off'
      ? { name: 'database', ok: true, detail: 'writable' }
      : { name: 'database', ok: false, detail: 'the database is read-only (a standby, or default_transaction_read_only is on)' }
  } catch (err) {
    return { name: 'database', ok: false, detail: `cannot open a connection and query: ${(err as Error).message}` }
  } finally {
    await sql.end({ timeout: 1 })
  }
}

export async function pgMigrationsApplied(sql: Sql, migrationsFolder: string): Promise<ReadinessCheck> {
  try {
    const expected = journalLength(migrationsFolder, 'drizzle/pg/meta/_journal.json')
    if (typeof expected !== 'number') return expected
    const [row] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM drizzle.__drizzle_migrations`
    return compareMigrations(row?.n ?? 0, expected)
  } catch (err) {
    return { name: 'migrations', ok: false, detail: `cannot read migration state: ${(err as Error).message}` }
  }
}
