/**
 * A store's contract test runs on both engines: a fresh SQLite file in a temp dir and a fresh
 * PostgreSQL database on the test cluster (scripts/postgres.sh), both migrated. `bothEngines`
 * builds what the test needs on each and adds a `close` that removes the database.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type OpenedDatabase } from '../../src/lib/db/connection'
import { openPostgres, type OpenedPostgres } from '../../src/lib/db/postgres'
import { freshDatabase } from './postgres'

export type Closable<T> = T & { close(): Promise<void> }

export function bothEngines<T>(make: {
  sqlite(db: OpenedDatabase): T
  postgres(pg: OpenedPostgres): T
}): Record<string, () => Promise<Closable<T>>> {
  return {
    sqlite: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tether-store-'))
      const db = openDatabase({ file: join(dir, 'tether.db') })
      return {
        ...make.sqlite(db),
        close: async () => {
          db.close()
          rmSync(dir, { recursive: true, force: true })
        },
      }
    },
    postgres: async () => {
      const fresh = await freshDatabase()
      const pg = await openPostgres(fresh.url)
      return {
        ...make.postgres(pg),
        close: async () => {
          await pg.close()
          await fresh.drop()
        },
      }
    },
  }
}
