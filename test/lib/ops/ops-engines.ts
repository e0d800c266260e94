/**
 * The two engines the operations queries run on, for contract tests: SQLite (a real file in a
 * temp dir, migrated by openDatabase) and PostgreSQL (a fresh database on the test cluster,
 * migrated by openPostgres). `insert` writes raw rows with the same column names on both, so a
 * test seeds both engines with one fixture.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { freshDatabase } from '../../support/postgres'

export type Row = Record<string, string | number | boolean | Buffer | null>

interface Common {
  insert(table: string, rows: Row[]): Promise<void>
  close(): Promise<void>
}
export type OpsDb = (Common & { engine: 'sqlite'; sqlite: OpenedDatabase }) | (Common & { engine: 'postgres'; pg: OpenedPostgres; url: string })

function columns(rows: Row[]): string[] {
  return [...new Set(rows.flatMap((r) => Object.keys(r)))]
}

export const OPS_ENGINES: Record<'sqlite' | 'postgres', () => Promise<OpsDb>> = {
  sqlite: async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-ops-'))
    const db = openDatabase({ file: join(dir, 'tether.db') })
    return {
      engine: 'sqlite',
      sqlite: db,
      async insert(table, rows) {
        if (rows.length === 0) return
        const cols = columns(rows)
        const stmt = db.sqlite.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`)
        const toSqlite = (v: Row[string] | undefined) => (typeof v === 'boolean' ? Number(v) : (v ?? null))
        db.sqlite.transaction(() => {
          for (const r of rows) stmt.run(...cols.map((c) => toSqlite(r[c])))
        })()
      },
      async close() {
        db.close()
        rmSync(dir, { recursive: true, force: true })
      },
    }
  },
  postgres: async () => {
    const fresh = await freshDatabase()
    const pg = await openPostgres(fresh.url, { max: 4 })
    return {
      engine: 'postgres',
      pg,
      url: fresh.url,
      async insert(table, rows) {
        if (rows.length === 0) return
        const cols = columns(rows)
        // postgres.js builds the multi-row VALUES from the objects (missing keys as NULL would
        // override defaults, so every row of one call carries the same columns).
        await pg.sql`INSERT INTO ${pg.sql(table)} ${pg.sql(rows as Record<string, unknown>[], ...cols)}`
      },
      async close() {
        await pg.close()
        await fresh.drop()
      },
    }
  },
}
