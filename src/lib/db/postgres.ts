/**
 * A PostgreSQL database for Tether (issue #14, specs/scale-out.md): opened from a
 * `postgres://` URL with the `postgres` driver and brought to the schema of drizzle/pg/ (the
 * PostgreSQL twin of drizzle/, generated from src/lib/db/schema-pg/). The stores do not run on
 * it yet; this is the connection and migrations they will share.
 */
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres, { type Sql } from 'postgres'

export interface OpenedPostgres {
  sql: Sql
  db: PostgresJsDatabase
  migrationsFolder: string
  close(): Promise<void>
}

/** drizzle/pg/: next to the sources, or under the working directory when bundled. */
function defaultMigrationsFolder(): string {
  const besideSources = resolve(dirname(fileURLToPath(import.meta.url)), '../../../drizzle/pg')
  return existsSync(besideSources) ? besideSources : resolve(process.cwd(), 'drizzle/pg')
}

export async function openPostgres(url: string, opts: { migrationsFolder?: string; max?: number } = {}): Promise<OpenedPostgres> {
  // bigint columns (ms timestamps, offsets) come back as numbers: every value Tether stores fits
  // in 2^53, as in SQLite's INTEGER read by better-sqlite3.
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    types: { bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) } },
  })
  const db = drizzle(sql)
  const migrationsFolder = opts.migrationsFolder ?? defaultMigrationsFolder()
  try {
    await migrate(db, { migrationsFolder })
  } catch (err) {
    await sql.end({ timeout: 5 })
    throw err
  }
  return { sql, db, migrationsFolder, close: () => sql.end({ timeout: 5 }) }
}
