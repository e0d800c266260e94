/**
 * The database checks of `GET /api/ready` on both engines: writable and every migration applied
 * on a freshly migrated database; a journal listing one migration more fails the migrations
 * check with the counts. On PostgreSQL also: a database set read-only fails the writable check
 * (seen by the check's own new connection while the pool is untouched), and so does a server
 * that cannot be reached.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseWritable, migrationsApplied, type ReadinessCheck } from '../../../src/lib/ops/readiness'
import { pgDatabaseWritable, pgMigrationsApplied } from '../../../src/lib/ops/readiness-pg'
import { OPS_ENGINES, type OpsDb } from './ops-engines'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** A copy of `folder` whose journal lists one more migration than was applied. */
function journalWithOneMore(folder: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-journal-'))
  dirs.push(dir)
  cpSync(folder, dir, { recursive: true })
  const file = join(dir, 'meta', '_journal.json')
  const journal = JSON.parse(readFileSync(file, 'utf8')) as { entries: Array<Record<string, unknown>> }
  journal.entries.push({ idx: journal.entries.length, version: '7', when: Date.now(), tag: '9999_not_applied', breakpoints: true })
  writeFileSync(file, JSON.stringify(journal))
  return dir
}

describe.each(['sqlite', 'postgres'] as const)('database readiness on %s', (engine) => {
  let db: OpsDb
  let writable: () => Promise<ReadinessCheck>
  let migrations: (folder: string) => Promise<ReadinessCheck>
  let folder: string
  beforeAll(async () => {
    db = await OPS_ENGINES[engine]()
    if (db.engine === 'sqlite') {
      const { sqlite, migrationsFolder } = db.sqlite
      folder = migrationsFolder
      writable = async () => databaseWritable(sqlite)
      migrations = async (f) => migrationsApplied(sqlite, f)
    } else {
      const { pg, url } = db
      folder = pg.migrationsFolder
      writable = () => pgDatabaseWritable(url)
      migrations = (f) => pgMigrationsApplied(pg.sql, f)
    }
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })

  it('is writable with every migration applied', async () => {
    expect(await writable()).toEqual({ name: 'database', ok: true, detail: 'writable' })
    const m = await migrations(folder)
    expect(m.ok).toBe(true)
    expect((m.info as { applied: number }).applied).toBeGreaterThan(0)
    expect(m.info).toEqual({ applied: (m.info as { expected: number }).expected, expected: (m.info as { expected: number }).expected })
  })

  it('names a migration the journal lists but the database lacks', async () => {
    const m = await migrations(journalWithOneMore(folder))
    expect(m.ok).toBe(false)
    const { applied, expected } = m.info as { applied: number; expected: number }
    expect(expected).toBe(applied + 1)
    expect(m.detail).toBe(`${applied} of ${expected} applied: restart to migrate`)
  })

  it('fails the migrations check when the journal is missing', async () => {
    const m = await migrations(join(tmpdir(), 'no-such-migrations-folder'))
    expect(m).toMatchObject({ name: 'migrations', ok: false })
    expect(m.detail).toContain('_journal.json) is missing')
  })
})

describe('database readiness on postgres: failures', () => {
  let db: OpsDb & { engine: 'postgres' }
  beforeAll(async () => {
    const opened = await OPS_ENGINES.postgres()
    if (opened.engine !== 'postgres') throw new Error('expected postgres')
    db = opened
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })

  it('is not writable once the database is read-only (new connections see it)', async () => {
    const name = new URL(db.url).pathname.slice(1)
    await db.pg.sql.unsafe(`ALTER DATABASE ${name} SET default_transaction_read_only = on`)
    const check = await pgDatabaseWritable(db.url)
    expect(check.ok).toBe(false)
    expect(check.detail).toContain('read-only')
    await db.pg.sql.unsafe(`ALTER DATABASE ${name} RESET default_transaction_read_only`)
    expect((await pgDatabaseWritable(db.url)).ok).toBe(true)
  })

  it('is not writable when no connection can be opened', async () => {
    // Port 1 on loopback: privileged, nothing of ours listens there, the connect is refused at once.
    const url = new URL(db.url)
    url.port = '1'
    const check = await pgDatabaseWritable(url.toString())
    expect(check.ok).toBe(false)
    expect(check.detail).toMatch(/^cannot open a connection and query: /)
  })
})
