/**
 * The view checkpoint store (src/lib/sessions/view-checkpoints.ts) on both engines: a checkpoint
 * comes back as saved; a save never moves it back to an older offset; a row of another format or
 * one that does not parse is not used; it goes with its session. Real SQLite file, real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ViewCheckpoint } from '../../../src/lib/sessions/session-view'
import { pgViewCheckpoints, sqliteViewCheckpoints, type ViewCheckpointStore } from '../../../src/lib/sessions/view-checkpoints'
import { bothEngines, type Closable } from '../../support/engines'

interface Engine {
  store: ViewCheckpointStore
  /** runs one statement with `?` placeholders */
  exec: (sql: string, ...params: unknown[]) => Promise<void>
}

const ENGINES = bothEngines<Engine>({
  sqlite: (db) => ({
    store: sqliteViewCheckpoints(db.sqlite),
    exec: async (sql, ...params) => void db.sqlite.prepare(sql).run(...params),
  }),
  postgres: (pg) => ({
    store: pgViewCheckpoints(pg.sql),
    exec: async (sql, ...params) => {
      let n = 0
      await pg.sql.unsafe(
        sql.replace(/\?/g, () => `$${++n}`),
        params as string[],
      )
    },
  }),
})

const checkpoint = (offset: string, text: string): ViewCheckpoint => ({
  offset,
  events: [{ type: 'chunk', key: 'm1:0', value: { messageId: 'm1', seq: 0, delta: text, done: true }, headers: { operation: 'upsert' } }],
  omittedMessages: ['m0'],
  terminalOmitted: true,
})

describe.each(Object.keys(ENGINES))('view checkpoint store on %s', (engine) => {
  let opened: Closable<Engine>
  const store = () => opened.store
  const exec = (sql: string, ...params: unknown[]) => opened.exec(sql, ...params)
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
  }, 120_000)
  afterAll(async () => {
    await opened?.close()
  })
  const session = async (name: string) => {
    const id = `${engine}-${name}`
    await exec(`INSERT INTO sessions (id, pattern, status, created_at, updated_at) VALUES (?, 'long-running', 'active', 1, 1)`, id)
    return id
  }

  it('gives back what was saved, and keeps the newer of two saves whatever order they land in', async () => {
    const s = store()
    const id = await session('a')
    expect(await s.load(id)).toBeNull()
    await s.save(id, checkpoint('0000000000000002_0000000000000100', 'second'))
    expect(await s.load(id)).toEqual(checkpoint('0000000000000002_0000000000000100', 'second'))
    // A late save of an older view does not move the checkpoint back.
    await s.save(id, checkpoint('0000000000000001_0000000000000050', 'first'))
    expect((await s.load(id))?.offset).toBe('0000000000000002_0000000000000100')
    await s.save(id, checkpoint('0000000000000003_0000000000000007', 'third'))
    expect(await s.load(id)).toEqual(checkpoint('0000000000000003_0000000000000007', 'third'))
  })

  it('does not use a row of another format or one that does not parse', async () => {
    const s = store()
    const id = await session('b')
    await s.save(id, checkpoint('0000000000000001_0000000000000001', 'x'))
    await exec('UPDATE session_view_checkpoints SET format = 99 WHERE session_id = ?', id)
    expect(await s.load(id)).toBeNull()
    // A save in this format replaces a row of another, even at an older offset.
    await s.save(id, checkpoint('0000000000000000_0000000000000001', 'y'))
    expect((await s.load(id))?.events[0]?.value?.delta).toBe('y')
    await exec(`UPDATE session_view_checkpoints SET body = '{"events": 3}' WHERE session_id = ?`, id)
    expect(await s.load(id)).toBeNull()
    await exec(`UPDATE session_view_checkpoints SET body = 'not json' WHERE session_id = ?`, id)
    expect(await s.load(id)).toBeNull()
  })

  it('goes with its session, and refuses a session that does not exist', async () => {
    const s = store()
    const id = await session('c')
    await s.save(id, checkpoint('0000000000000001_0000000000000001', 'x'))
    await exec('DELETE FROM sessions WHERE id = ?', id)
    expect(await s.load(id)).toBeNull()
    await expect(s.save(`${engine}-nobody`, checkpoint('0000000000000001_0000000000000001', 'x'))).rejects.toThrow()
  })
})
