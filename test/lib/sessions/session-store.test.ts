/**
 * The SessionStore contract, run against both implementations: SQLite (a real file in a temp dir,
 * session-store.ts) and PostgreSQL (a fresh database on the test cluster, session-store-pg.ts).
 * Every method, list paging with its cursors, stats, and the usage rules of the write path
 * (counters at once, the activity time only when it moved ACTIVITY_RESOLUTION_MS or more).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { PgSessionStore } from '../../../src/lib/sessions/session-store-pg'
import {
  ACTIVITY_RESOLUTION_MS,
  CursorError,
  SqliteSessionStore,
  type NewSession,
  type SessionStore,
} from '../../../src/lib/sessions/session-store'
import type { SessionRecord } from '../../../src/lib/sessions/session-types'
import { bothEngines } from '../../support/engines'

interface Opened {
  store: SessionStore
  close(): Promise<void>
}

const ENGINES = bothEngines<Omit<Opened, 'close'>>({
  sqlite: (db) => ({ store: new SqliteSessionStore(db.db) }),
  postgres: (pg) => ({ store: new PgSessionStore(pg.db) }),
})

const T0 = Date.UTC(2026, 10, 29, 12)
const NO_LIMITS = { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null }

function session(id: string, over: Partial<NewSession> = {}): NewSession {
  return { id, pattern: 'long-running', title: null, agent: { model: 'echo' }, limits: NO_LIMITS, metadata: {}, createdBy: null, now: T0, ...over }
}

const usage = (turns: number, lastActivityAt: number | null, costUsd = 0) => ({
  tokensIn: turns * 10,
  tokensOut: turns * 5,
  costUsd,
  turns,
  lastActivityAt,
})

describe.each(Object.keys(ENGINES))('SessionStore on %s', (engine) => {
  let opened: Opened
  let store: SessionStore
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
    store = opened.store
  }, 120_000)
  afterAll(async () => {
    await opened?.close()
  })

  it('inserts a session and reads it back whole: record, status, lineage', async () => {
    const made = await store.insert(
      session('s_ins', {
        pattern: 'hybrid',
        title: 'first',
        agent: { model: 'claude', systemPrompt: 'be brief' },
        limits: { maxIdleTimeMs: 60_000, maxLifetimeMs: 3_600_000, maxBudgetUsd: 2.5, maxTurns: 7 },
        metadata: { team: 'a' },
        createdBy: 'u_1',
        forkedFrom: { sessionId: 's_src', turn: 3, offset: '0000000000000042_0000000000000001' },
      }),
    )
    expect(made).toMatchObject({ id: 's_ins', status: 'active', pattern: 'hybrid', title: 'first', createdBy: 'u_1', endedAt: null })
    const got = await store.get('s_ins')
    expect(got).toEqual(made)
    expect(got).toMatchObject({
      agent: { model: 'claude', systemPrompt: 'be brief' },
      limits: { maxIdleTimeMs: 60_000, maxLifetimeMs: 3_600_000, maxBudgetUsd: 2.5, maxTurns: 7 },
      metadata: { team: 'a' },
      usage: { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, lastActivityAt: null },
      createdAt: T0,
      streamPath: 'sessions/s_ins',
      forkedFrom: { sessionId: 's_src', turn: 3, offset: '0000000000000042_0000000000000001' },
    })
    expect(await store.status('s_ins')).toEqual({ id: 's_ins', status: 'active', endReason: null })
    expect(await store.get('s_none')).toBeNull()
    expect(await store.status('s_none')).toBeNull()
    await expect(Promise.resolve().then(() => store.insert(session('s_ins')))).rejects.toThrow()
  })

  it('stores an agent list with its routing', async () => {
    const made = await store.insert(
      session('s_agents', { agents: [{ id: 'writer', model: 'a' }, { id: 'critic', model: 'b', limits: { maxTurns: 2 } }], routing: { defaultAgent: 'critic' } }),
    )
    expect(made.agents.map((a) => a.id)).toEqual(['writer', 'critic'])
    expect(made.routing.defaultAgent).toBe('critic')
    expect((await store.get('s_agents'))?.agents[1]).toMatchObject({ id: 'critic', model: 'b', limits: { maxTurns: 2 } })
  })

  it('lists newest first, pages with cursors through ties of created time, and filters', async () => {
    // Ids whose bytewise and dictionary orders differ (case, `_` and `-`): a cursor must continue where its page ended.
    const ids = ['p_a', 'p_B', 'p_b', 'p_-z', 'p__', 'p_Z1', 'p_z0']
    for (const [i, id] of ids.entries()) {
      await store.insert(session(id, { now: T0 + 1_000 + (i < 4 ? 0 : i), pattern: i % 2 ? 'ephemeral' : 'long-running' }))
    }
    const onlyThese = { onlyIds: ids }
    const all = await store.list({ limit: 100, ...onlyThese })
    expect(all.nextCursor).toBeNull()
    expect(all.sessions).toHaveLength(ids.length)
    const seen: string[] = []
    let cursor: string | undefined
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.list({ limit: 2, ...onlyThese, ...(cursor ? { cursor } : {}) })
      expect(page.sessions.length).toBeLessThanOrEqual(2)
      seen.push(...page.sessions.map((s) => s.id))
      if (!page.nextCursor) break
      cursor = page.nextCursor
    }
    expect(seen).toEqual(all.sessions.map((s) => s.id))
    expect(new Set(seen).size).toBe(ids.length)
    const created = all.sessions.map((s) => s.createdAt)
    expect(created).toEqual([...created].sort((a, b) => b - a))

    const eph = await store.list({ limit: 100, pattern: 'ephemeral', ...onlyThese })
    expect(eph.sessions.map((s) => s.id).sort()).toEqual(ids.filter((_, i) => i % 2).sort())
    expect((await store.list({ limit: 100, onlyId: 'p_B' })).sessions.map((s) => s.id)).toEqual(['p_B'])
    expect((await store.list({ limit: 100, onlyIds: [] })).sessions).toEqual([])
    expect((await store.list({ limit: 100, status: 'completed', ...onlyThese })).sessions).toEqual([])
  })

  it('refuses a cursor it did not hand out', async () => {
    await expect(Promise.resolve().then(() => store.list({ limit: 1, cursor: 'not-a-cursor' }))).rejects.toBeInstanceOf(CursorError)
  })

  it('updates title, limits, metadata and the single agent; unknown ids answer null', async () => {
    await store.insert(session('s_upd'))
    const updated = await store.update(
      's_upd',
      { title: 'renamed', limits: { maxTurns: 3 }, metadata: { k: 'v' }, agent: { model: 'other' } },
      T0 + 5,
    )
    expect(updated).toMatchObject({ title: 'renamed', limits: { maxTurns: 3, maxIdleTimeMs: null }, metadata: { k: 'v' }, agent: { model: 'other' }, updatedAt: T0 + 5 })
    expect(await store.get('s_upd')).toEqual(updated)
    expect(await store.update('s_none', { title: 'x' }, T0)).toBeNull()
    expect(await store.update('s_none', { agents: [{ id: 'a1' }] }, T0)).toBeNull()
  })

  it('updates an agent list: `agent` changes the default agent, routing merges', async () => {
    const updated = await store.update('s_agents', { agent: { systemPrompt: 'short' }, routing: { unaddressed: 'all' } }, T0 + 6)
    expect(updated?.agents.find((a) => a.id === 'critic')?.systemPrompt).toBe('short')
    expect(updated?.agents.find((a) => a.id === 'writer')?.systemPrompt).toBeUndefined()
    expect(updated?.routing).toMatchObject({ defaultAgent: 'critic', unaddressed: 'all' })
  })

  it('updateWith decides on the current record; a throw writes nothing; concurrent changes both land', async () => {
    await store.insert(session('s_with', { agents: [{ id: 'one' }] }))
    await expect(
      Promise.resolve().then(() =>
        store.updateWith(
          's_with',
          () => {
            throw new Error('refused')
          },
          T0,
        ),
      ),
    ).rejects.toThrow('refused')
    expect((await store.get('s_with'))?.agents.map((a) => a.id)).toEqual(['one'])
    const add = (id: string) =>
      Promise.resolve().then(() => store.updateWith('s_with', (cur) => ({ agents: [...cur.agents, { id }] }), T0 + 1))
    await Promise.all([add('two'), add('three'), add('four')])
    expect((await store.get('s_with'))?.agents.map((a) => a.id).sort()).toEqual(['four', 'one', 'three', 'two'])
    expect(await store.updateWith('s_none', () => ({ title: 'x' }), T0)).toBeNull()
  })

  it('writes usage: counters at once, the activity time on the write path only when it moved a second', async () => {
    await store.insert(session('s_usage'))
    const stored = async () => (await store.get('s_usage'))!.usage
    await store.noteUsage('s_usage', usage(1, T0 + 100))
    expect(await stored()).toMatchObject({ turns: 1, tokensIn: 10, lastActivityAt: T0 + 100 })
    await store.noteUsage('s_usage', usage(1, T0 + 400))
    await store.noteUsage('s_usage', usage(1, T0 + 100 + ACTIVITY_RESOLUTION_MS - 1))
    expect((await stored()).lastActivityAt).toBe(T0 + 100)
    await store.noteUsage('s_usage', usage(1, T0 + 100 + ACTIVITY_RESOLUTION_MS))
    expect((await stored()).lastActivityAt).toBe(T0 + 100 + ACTIVITY_RESOLUTION_MS)
    await store.noteUsage('s_usage', usage(2, T0 + 100 + ACTIVITY_RESOLUTION_MS + 5, 0.25))
    expect(await stored()).toEqual({ tokensIn: 20, tokensOut: 10, costUsd: 0.25, turns: 2, lastActivityAt: T0 + 100 + ACTIVITY_RESOLUTION_MS + 5 })
    // updateUsage (monitor, refresh) is exact.
    await store.updateUsage('s_usage', usage(2, T0 + 100 + ACTIVITY_RESOLUTION_MS + 6, 0.25))
    expect((await stored()).lastActivityAt).toBe(T0 + 100 + ACTIVITY_RESOLUTION_MS + 6)
    await store.updateUsage('s_none', usage(1, T0))
    expect(await store.get('s_none')).toBeNull()
  })

  it('transitions only from the given statuses; ending records when and why', async () => {
    await store.insert(session('s_tr', { pattern: 'hybrid' }))
    expect((await store.transition('s_tr', ['active'], 'idle', T0 + 10))?.status).toBe('idle')
    expect(await store.transition('s_tr', ['active'], 'idle', T0 + 11)).toBeNull()
    const live = (await store.live()).map((s: SessionRecord) => s.id)
    expect(live).toContain('s_tr')
    const ended = await store.transition('s_tr', ['active', 'idle'], 'terminated', T0 + 12, 'limit:idle')
    expect(ended).toMatchObject({ status: 'terminated', endedAt: T0 + 12, endReason: 'limit:idle', updatedAt: T0 + 12 })
    expect(await store.transition('s_tr', ['active', 'idle'], 'completed', T0 + 13)).toBeNull()
    expect(await store.status('s_tr')).toEqual({ id: 's_tr', status: 'terminated', endReason: 'limit:idle' })
    expect((await store.live()).map((s) => s.id)).not.toContain('s_tr')
    // Without a reason the status is the reason.
    await store.insert(session('s_tr2'))
    expect((await store.transition('s_tr2', ['active'], 'completed', T0 + 14))?.endReason).toBe('completed')
  })

  it('answers every change of a session in its next status read (SQLite keeps status rows in memory)', async () => {
    await store.insert(session('s_st', { pattern: 'hybrid' }))
    expect(await store.status('s_st')).toEqual({ id: 's_st', status: 'active', endReason: null })
    await store.transition('s_st', ['active'], 'idle', T0 + 1)
    expect((await store.status('s_st'))?.status).toBe('idle')
    await store.update('s_st', { title: 'renamed' }, T0 + 2)
    await store.updateWith('s_st', () => ({ metadata: { k: 'v' } }), T0 + 3)
    expect((await store.status('s_st'))?.status).toBe('idle')
    await store.transition('s_st', ['idle'], 'failed', T0 + 4, 'worker:crashed')
    expect(await store.status('s_st')).toEqual({ id: 's_st', status: 'failed', endReason: 'worker:crashed' })
    expect(await store.remove('s_st')).toBe(true)
    expect(await store.status('s_st')).toBeNull()
    await store.insert(session('s_st'))
    expect(await store.status('s_st')).toEqual({ id: 's_st', status: 'active', endReason: null })
  })

  it('finds forks of a session, newest first, at most `limit`', async () => {
    for (const [i, id] of ['f_1', 'f_2', 'f_3'].entries()) {
      await store.insert(session(id, { now: T0 + 20 + i, forkedFrom: { sessionId: 's_origin', turn: i, offset: `o${i}` } }))
    }
    expect(await store.forksOf('s_origin')).toEqual(['f_3', 'f_2', 'f_1'])
    expect(await store.forksOf('s_origin', 2)).toEqual(['f_3', 'f_2'])
    expect(await store.forksOf('s_nobody')).toEqual([])
  })

  it('lists ended ephemeral sessions due for removal, and removes', async () => {
    await store.insert(session('e_old', { pattern: 'ephemeral' }))
    await store.insert(session('e_new', { pattern: 'ephemeral' }))
    await store.insert(session('e_live', { pattern: 'ephemeral' }))
    await store.insert(session('l_old'))
    await store.transition('e_old', ['active'], 'completed', T0 + 30)
    await store.transition('e_new', ['active'], 'completed', T0 + 90)
    await store.transition('l_old', ['active'], 'completed', T0 + 30)
    expect(await store.endedEphemeralBefore(T0 + 60)).toEqual(['e_old'])
    expect(await store.remove('e_old')).toBe(true)
    expect(await store.remove('e_old')).toBe(false)
    expect(await store.get('e_old')).toBeNull()
    expect(await store.endedEphemeralBefore(T0 + 60)).toEqual([])
  })

  it('sums stats by status and pattern, for all sessions or one', async () => {
    const all = await store.list({ limit: 1_000 })
    const stats = await store.stats()
    expect(stats.total).toBe(all.sessions.length)
    const count = (f: (s: SessionRecord) => boolean) => all.sessions.filter(f).length
    expect(stats.byStatus).toEqual({
      active: count((s) => s.status === 'active'),
      idle: count((s) => s.status === 'idle'),
      completed: count((s) => s.status === 'completed'),
      failed: 0,
      terminated: count((s) => s.status === 'terminated'),
    })
    expect(stats.byPattern.ephemeral).toBe(count((s) => s.pattern === 'ephemeral'))
    expect(stats.usage).toEqual({ tokensIn: 20, tokensOut: 10, costUsd: 0.25, turns: 2 })
    const one = await store.stats('s_usage')
    expect(one).toMatchObject({ total: 1, usage: { tokensIn: 20, turns: 2 } })
    expect(one.byStatus.active).toBe(1)
    expect((await store.stats('s_none')).total).toBe(0)
  })
})

describe('SqliteSessionStore status rows in memory', () => {
  let db: OpenedDatabase
  let store: SqliteSessionStore
  beforeAll(() => {
    db = openDatabase({ file: join(mkdtempSync(join(tmpdir(), 'tether-status-')), 'tether.db') })
    store = new SqliteSessionStore(db.db)
  })
  afterAll(() => db.close())

  it('answers the per-write status check from memory once read (only this store writes the table)', () => {
    store.insert(session('s_mem'))
    expect(store.status('s_mem')?.status).toBe('active')
    // Behind the store's back (nothing in the app does this): the check no longer reads the row.
    db.sqlite.prepare("update sessions set status = 'failed' where id = ?").run('s_mem')
    expect(store.status('s_mem')?.status).toBe('active')
    expect(store.get('s_mem')?.status).toBe('failed')
  })

  it('keeps no row read inside a transaction that then rolls back', () => {
    store.insert(session('s_tx'))
    expect(() =>
      db.sqlite.transaction(() => {
        store.transition('s_tx', ['active'], 'completed', T0 + 1)
        expect(store.status('s_tx')?.status).toBe('completed')
        throw new Error('roll back')
      })(),
    ).toThrow('roll back')
    expect(store.status('s_tx')?.status).toBe('active')
  })
})
