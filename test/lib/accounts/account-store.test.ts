/**
 * The AccountStore contract, run against both implementations: SQLite (a real file in a temp dir,
 * account-store.ts) and PostgreSQL (a fresh database on the test cluster, account-store-pg.ts).
 * People, sign-ins, members and owners, API keys (with the per-person cap decided in the store).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SqliteAccountStore, type AccountStore } from '../../../src/lib/accounts/account-store'
import { PgAccountStore } from '../../../src/lib/accounts/account-store-pg'
import { SqliteSessionStore } from '../../../src/lib/sessions/session-store'
import { PgSessionStore } from '../../../src/lib/sessions/session-store-pg'
import type { SessionStore } from '../../../src/lib/sessions/session-store'
import { bothEngines } from '../../support/engines'

interface Opened {
  store: AccountStore
  sessions: SessionStore
  close(): Promise<void>
}

let clock = Date.UTC(2026, 10, 29, 12)
const now = () => clock

const ENGINES = bothEngines<Omit<Opened, 'close'>>({
  sqlite: (db) => ({ store: new SqliteAccountStore(db.db, now), sessions: new SqliteSessionStore(db.db) }),
  postgres: (pg) => ({ store: new PgAccountStore(pg.db, now), sessions: new PgSessionStore(pg.db) }),
})

const who = (subject: string, email: string | null, emailVerified = true) => ({ provider: 'oidc', subject, email, emailVerified, name: `N ${subject}` })
const key = (id: string, userId: string) => ({ id, userId, name: id, keyHash: `hash-${id}`, prefix: 'tk_abcde', sessionId: null, role: null })

describe.each(Object.keys(ENGINES))('AccountStore on %s', (engine) => {
  let opened: Opened
  let store: AccountStore
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
    store = opened.store
  }, 120_000)
  afterAll(async () => {
    await opened?.close()
  })

  it('creates a person on first sign-in and follows the provider after; looks people up by id and verified email', async () => {
    const first = await store.upsertUser(who('ann', ' Ann@Example.COM '))
    expect(first).toMatchObject({ provider: 'oidc', subject: 'ann', email: 'ann@example.com', emailVerified: true, name: 'N ann', lastSignInAt: clock })
    clock += 1_000
    const again = await store.upsertUser({ ...who('ann', 'ann@new.example'), name: 'Ann B' })
    expect(again).toMatchObject({ id: first.id, email: 'ann@new.example', name: 'Ann B', createdAt: first.createdAt, lastSignInAt: clock })
    expect(await store.user(first.id)).toEqual(again)
    expect(await store.user('u_none')).toBeNull()
    expect((await store.userByVerifiedEmail('ANN@new.example'))?.id).toBe(first.id)
    await store.upsertUser(who('eve', 'eve@example.com', false))
    expect(await store.userByVerifiedEmail('eve@example.com')).toBeNull()
  })

  it('signs in, answers the person while the sign-in lives, and ends it', async () => {
    const ann = (await store.userByVerifiedEmail('ann@new.example'))!
    await store.addSignIn('h1', ann.id, 10_000)
    expect((await store.signedIn('h1'))?.id).toBe(ann.id)
    expect(await store.signedIn('h_unknown')).toBeNull()
    clock += 10_001
    expect(await store.signedIn('h1')).toBeNull()
    await store.addSignIn('h2', ann.id, 10_000)
    expect((await store.signedIn('h2'))?.id).toBe(ann.id)
    await store.endSignIn('h2')
    expect(await store.signedIn('h2')).toBeNull()
  })

  it("knows a session's owner and members, and which sessions a person sees", async () => {
    const ann = (await store.userByVerifiedEmail('ann@new.example'))!
    const bob = await store.upsertUser(who('bob', 'bob@example.com'))
    const base = { pattern: 'long-running' as const, title: null, agent: {}, limits: { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null }, metadata: {}, now: clock }
    await opened.sessions.insert({ ...base, id: 's_ann', createdBy: ann.id })
    await opened.sessions.insert({ ...base, id: 's_sys', createdBy: null })
    expect(await store.ownerOf('s_ann')).toBe(ann.id)
    expect(await store.ownerOf('s_sys')).toBeNull()
    expect(await store.ownerOf('s_none')).toBeUndefined()

    expect(await store.memberRole('s_ann', bob.id)).toBeNull()
    expect(await store.setMember('s_ann', bob.id, 'viewer', ann.id)).toMatchObject({ sessionId: 's_ann', userId: bob.id, role: 'viewer', addedBy: ann.id })
    await store.setMember('s_ann', bob.id, 'collaborator', 'admin')
    expect(await store.memberRole('s_ann', bob.id)).toBe('collaborator')
    await store.setMember('s_sys', bob.id, 'viewer', 'admin')
    expect(await store.members('s_ann')).toEqual([
      expect.objectContaining({ userId: bob.id, role: 'collaborator', addedBy: 'admin', name: 'N bob', email: 'bob@example.com' }),
    ])
    expect((await store.visibleSessionIds(bob.id)).sort()).toEqual(['s_ann', 's_sys'])
    expect(await store.visibleSessionIds(ann.id)).toEqual(['s_ann'])
    expect(await store.removeMember('s_ann', bob.id)).toBe(true)
    expect(await store.removeMember('s_ann', bob.id)).toBe(false)
    expect(await store.visibleSessionIds(bob.id)).toEqual(['s_sys'])
  })

  it('adds keys up to the cap (also when requests race), finds them by hash, touches at most once a minute, removes', async () => {
    const bob = (await store.userByVerifiedEmail('bob@example.com'))!
    const made = await store.addKey(key('key_1', bob.id), 3)
    expect(made).toMatchObject({ id: 'key_1', userId: bob.id, createdAt: clock, lastUsedAt: null })
    clock += 1
    const racing = await Promise.all([2, 3, 4, 5].map((i) => Promise.resolve().then(() => store.addKey(key(`key_${i}`, bob.id), 3))))
    expect(racing.filter((r) => r !== null)).toHaveLength(2)
    expect(await store.keysOf(bob.id)).toHaveLength(3)
    expect((await store.keysOf(bob.id))[2]!.id).toBe('key_1')

    expect(await store.keyByHash('hash-key_1')).toEqual(made)
    expect(await store.keyByHash('hash-none')).toBeNull()
    await store.touchKey(made!)
    const touched = (await store.keyByHash('hash-key_1'))!
    expect(touched.lastUsedAt).toBe(clock)
    clock += 30_000
    await store.touchKey(touched)
    expect((await store.keyByHash('hash-key_1'))!.lastUsedAt).toBe(clock - 30_000)

    expect(await store.removeKey('u_other', 'key_1')).toBe(false)
    expect(await store.removeKey(bob.id, 'key_1')).toBe(true)
    expect(await store.keyByHash('hash-key_1')).toBeNull()
  })
})
