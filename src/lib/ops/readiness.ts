/**
 * `GET /api/ready`: whether this node can do its job now, check by check, as JSON. Liveness
 * (`/api/health`) only says the process answers; readiness also says the database takes writes,
 * every migration ran, and the workers' runtime (Docker when it is on) answers. 200 when every
 * check passes, 503 with the failing ones named otherwise, so a load balancer or an operator
 * sees what is wrong without reading logs.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type Database from 'better-sqlite3'

export interface ReadinessCheck {
  name: string
  ok: boolean
  /** What was found (ok) or what failed and how to fix it (not ok). */
  detail: string
  /** Extra facts for operators (e.g. worker counts). */
  info?: Record<string, unknown>
}

export interface ReadinessReport {
  ok: boolean
  checks: ReadinessCheck[]
}

/** The database takes a write lock now (no read-only file, no stuck writer, disk answers). */
export function databaseWritable(sqlite: Database.Database): ReadinessCheck {
  // Inside an open transaction of this connection, the connection is writing: that is an answer.
  if (sqlite.inTransaction) return { name: 'database', ok: true, detail: 'writing' }
  try {
    sqlite.exec('BEGIN IMMEDIATE')
    sqlite.exec('ROLLBACK')
    return { name: 'database', ok: true, detail: 'writable' }
  } catch (err) {
    return { name: 'database', ok: false, detail: `cannot take the write lock: ${(err as Error).message}` }
  }
}

/** How many migrations the drizzle journal of `migrationsFolder` lists, or a failed check saying why not. */
export function journalLength(migrationsFolder: string, shown: string): number | ReadinessCheck {
  const journal = join(migrationsFolder, 'meta', '_journal.json')
  if (!existsSync(journal)) return { name: 'migrations', ok: false, detail: `the migration journal (${shown}) is missing` }
  return (JSON.parse(readFileSync(journal, 'utf8')) as { entries: unknown[] }).entries.length
}

/** The check from the counts: every journal entry applied (more is a newer node's, still fine). */
export function compareMigrations(applied: number, expected: number): ReadinessCheck {
  return applied >= expected
    ? { name: 'migrations', ok: true, detail: `${applied} applied`, info: { applied, expected } }
    : { name: 'migrations', ok: false, detail: `${applied} of ${expected} applied: restart to migrate`, info: { applied, expected } }
}

/** Every migration in the drizzle journal has been applied to this database. */
export function migrationsApplied(sqlite: Database.Database, migrationsFolder: string): ReadinessCheck {
  try {
    const expected = journalLength(migrationsFolder, 'drizzle/meta/_journal.json')
    if (typeof expected !== 'number') return expected
    const applied = (sqlite.prepare('SELECT count(*) AS n FROM __drizzle_migrations').get() as { n: number }).n
    return compareMigrations(applied, expected)
  } catch (err) {
    return { name: 'migrations', ok: false, detail: `cannot read migration state: ${(err as Error).message}` }
  }
}

/** Runs the checks; a check that throws counts as failed with its message. */
export async function readiness(checks: Array<() => ReadinessCheck | Promise<ReadinessCheck | ReadinessCheck[]>>): Promise<ReadinessReport> {
  const results: ReadinessCheck[] = []
  for (const check of checks) {
    try {
      const r = await check()
      results.push(...(Array.isArray(r) ? r : [r]))
    } catch (err) {
      results.push({ name: check.name || 'check', ok: false, detail: (err as Error).message })
    }
  }
  return { ok: results.every((c) => c.ok), checks: results }
}
