/**
 * The PostgreSQL schema (drizzle/pg/, issue #14) against the SQLite one (drizzle/) on real
 * databases: a real PostgreSQL cluster (scripts/postgres.sh) and a real SQLite file, both
 * migrated. Every table, column, nullability, primary key and index of the SQLite schema has
 * its PostgreSQL twin with a matching type, so a change to one schema without the other fails
 * here. Stream bodies (every byte value) and millisecond timestamps round-trip unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

interface Column {
  table: string
  name: string
  type: string
  notNull: boolean
}

/** SQLite's declared type → the PostgreSQL types that may stand for it. */
const TWIN_TYPES: Record<string, string[]> = {
  // A ms timestamp on SQLite; rate_limits.expire is a timestamp there (its library writes Dates).
  integer: ['bigint', 'boolean', 'timestamp without time zone'],
  real: ['double precision'],
  blob: ['bytea'],
  text: ['text', 'jsonb'],
}

/**
 * Tables only PostgreSQL has: stream_watchers says which nodes read which streams, so that
 * appends notify only those (drizzle/pg/0005); one SQLite node has nobody to notify.
 */
const PG_ONLY_TABLES = ['stream_watchers']

let dir: string
let sqlite: OpenedDatabase
let database: TestDatabase
let pg: OpenedPostgres

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-pg-schema-'))
  sqlite = openDatabase({ file: join(dir, 'tether.db') })
  database = await freshDatabase()
  pg = await openPostgres(database.url)
}, 600_000)

afterAll(async () => {
  sqlite?.close()
  await pg?.close()
  await database?.drop()
  rmSync(dir, { recursive: true, force: true })
})

function sqliteTables(): string[] {
  const rows = sqlite.sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name")
    .all() as { name: string }[]
  return rows.map((r) => r.name)
}

function sqliteColumns(table: string): Column[] {
  const rows = sqlite.sqlite.prepare(`PRAGMA table_info(${table})`).all() as { name: string; type: string; notnull: number; pk: number }[]
  // A single-column INTEGER PRIMARY KEY is NOT NULL whatever PRAGMA says (it is the rowid).
  return rows.map((r) => ({ table, name: r.name, type: r.type.toLowerCase(), notNull: r.notnull === 1 || r.pk > 0 }))
}

describe('PostgreSQL schema', () => {
  it('has every SQLite table, and no other but its own', async () => {
    const rows = await pg.sql<{ table_name: string }[]>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`
    expect(rows.map((r) => r.table_name)).toEqual([...sqliteTables(), ...PG_ONLY_TABLES].sort())
  })

  it('has every column with the same name, nullability and a matching type', async () => {
    const rows = await pg.sql<{ table_name: string; column_name: string; data_type: string; is_nullable: string }[]>`
      SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> ALL(${PG_ONLY_TABLES})`
    const pgColumns = new Map(rows.map((r) => [`${r.table_name}.${r.column_name}`, r]))
    const columns = sqliteTables().flatMap(sqliteColumns)
    expect(columns.length).toBeGreaterThan(100)
    const mismatches: string[] = []
    for (const c of columns) {
      const twin = pgColumns.get(`${c.table}.${c.name}`)
      if (!twin) mismatches.push(`${c.table}.${c.name}: missing`)
      else if (!(TWIN_TYPES[c.type] ?? []).includes(twin.data_type)) mismatches.push(`${c.table}.${c.name}: ${c.type} vs ${twin.data_type}`)
      else if (c.notNull !== (twin.is_nullable === 'NO')) mismatches.push(`${c.table}.${c.name}: NOT NULL ${c.notNull} vs ${twin.is_nullable === 'NO'}`)
    }
    expect(mismatches).toEqual([])
    expect(rows).toHaveLength(columns.length)
  })

  it('has the same primary keys and named indexes', async () => {
    const pks = await pg.sql<{ table_name: string; columns: string }[]>`
      SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) AS columns
      FROM information_schema.table_constraints tc
      JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = tc.constraint_name AND kcu.table_name = tc.table_name
      WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = 'public' AND tc.table_name <> ALL(${PG_ONLY_TABLES})
      GROUP BY tc.table_name`
    const pgPks = Object.fromEntries(pks.map((r) => [r.table_name, r.columns]))
    const sqlitePks = Object.fromEntries(
      sqliteTables().map((t) => {
        const rows = sqlite.sqlite.prepare(`PRAGMA table_info(${t})`).all() as { name: string; pk: number }[]
        return [t, rows.filter((r) => r.pk > 0).sort((a, b) => a.pk - b.pk).map((r) => r.name).join(',')]
      }),
    )
    expect(pgPks).toEqual(sqlitePks)

    const indexes = await pg.sql<{ indexname: string }[]>`
      SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_pk'`
    const sqliteIndexes = (
      sqlite.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'").all() as { name: string }[]
    ).map((r) => r.name)
    expect(indexes.map((r) => r.indexname).sort()).toEqual(sqliteIndexes.sort())
  })

  it('round-trips a stream body of every byte value and millisecond timestamps past 2^31', async () => {
    const now = Date.UTC(2026, 10, 29, 12, 0, 0)
    const [stream] = await pg.sql<{ id: number }[]>`
      INSERT INTO streams (path, content_type, created_at, last_access_at) VALUES ('t/bytes', 'application/octet-stream', ${now}, ${now})
      RETURNING id`
    const body = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    await pg.sql`INSERT INTO messages (stream_id, seq, end_pos, data) VALUES (${stream!.id}, 1, 256, ${body})`
    const [row] = await pg.sql<{ data: Buffer; end_pos: number }[]>`SELECT data, end_pos FROM messages WHERE stream_id = ${stream!.id}`
    expect(Buffer.compare(row!.data, body)).toBe(0)
    expect(row!.end_pos).toBe(256)
    const [meta] = await pg.sql<{ created_at: number; json_mode: number }[]>`SELECT created_at, json_mode FROM streams WHERE id = ${stream!.id}`
    expect(meta).toEqual({ created_at: now, json_mode: 0 })
  })

  it('migrating again is a no-op', async () => {
    const again = await openPostgres(database.url)
    try {
      const [row] = await again.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM streams`
      expect(row!.n).toBe(1)
    } finally {
      await again.close()
    }
  })
})
