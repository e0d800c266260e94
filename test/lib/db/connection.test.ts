import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../../src/lib/db/connection'

const dirs: string[] = []
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-db-'))
  dirs.push(dir)
  return join(dir, 'nested', 'tether.db')
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('openDatabase', () => {
  it('creates the file (and its folder), uses WAL and synchronous NORMAL by default', () => {
    const db = openDatabase({ file: tempFile() })
    expect(db.sqlite.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.sqlite.pragma('synchronous', { simple: true })).toBe(1) // NORMAL
    expect(db.sqlite.pragma('busy_timeout', { simple: true })).toBe(5000)
    db.close()
  })

  it('uses synchronous FULL in fsync durability mode', () => {
    const db = openDatabase({ file: tempFile(), durability: 'fsync' })
    expect(db.sqlite.pragma('synchronous', { simple: true })).toBe(2) // FULL
    db.close()
  })

  it('applies the migrations: streams tables exist, messages is WITHOUT ROWID', () => {
    const db = openDatabase({ file: tempFile() })
    const tables = db.sqlite.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'table'`).all() as Array<{
      name: string
      sql: string
    }>
    const byName = new Map(tables.map((t) => [t.name, t.sql]))
    for (const name of ['streams', 'messages', 'producers', 'purges']) expect(byName.has(name)).toBe(true)
    expect(byName.get('messages')).toMatch(/WITHOUT ROWID/)
    expect(byName.get('producers')).toMatch(/WITHOUT ROWID/)
    db.close()
  })

  it('reopens an existing file without re-running migrations', () => {
    const file = tempFile()
    const first = openDatabase({ file })
    first.sqlite.prepare(`INSERT INTO streams (path, content_type, created_at, last_access_at) VALUES ('kept', 'text/plain', 1, 1)`).run()
    first.close()
    const second = openDatabase({ file })
    expect(second.sqlite.prepare(`SELECT path FROM streams`).pluck().all()).toEqual(['kept'])
    second.close()
  })
})
