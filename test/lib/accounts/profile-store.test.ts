/**
 * The ProfileStore contract, run against both implementations: SQLite (a real file in a temp dir,
 * profile-store.ts) and PostgreSQL (a fresh database on the test cluster, profile-store-pg.ts).
 * Rows as given, the credential sealed at rest and opened only by credentialOf, the per-person
 * cap decided in the store (also when requests race), updates and owner-scoped removal.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { credentialCipher } from '../../../src/lib/accounts/credential-cipher'
import { SqliteProfileStore, type ProfileStore } from '../../../src/lib/accounts/profile-store'
import { PgProfileStore } from '../../../src/lib/accounts/profile-store-pg'
import { openDatabase } from '../../../src/lib/db/connection'
import { openPostgres } from '../../../src/lib/db/postgres'
import { freshDatabase } from '../../support/postgres'

interface Opened {
  store: ProfileStore
  close(): Promise<void>
}

let clock = Date.UTC(2026, 10, 29, 12)
const now = () => clock
const SECRET = 'sk-ant-contract-canary-0123456789'

const ENGINES: Record<string, (dataDir: string) => Promise<Opened>> = {
  sqlite: async (dir) => {
    const db = openDatabase({ file: join(dir, 'tether.db') })
    return { store: new SqliteProfileStore(db.db, credentialCipher(dir), now), close: async () => db.close() }
  },
  postgres: async (dir) => {
    const fresh = await freshDatabase()
    const pg = await openPostgres(fresh.url)
    return {
      store: new PgProfileStore(pg.db, credentialCipher(dir), now),
      close: async () => {
        await pg.close()
        await fresh.drop()
      },
    }
  },
}

describe.each(Object.keys(ENGINES))('ProfileStore on %s', (engine) => {
  let dir: string
  let opened: Opened
  let store: ProfileStore
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tether-profile-store-'))
    opened = await ENGINES[engine]!(dir)
    store = opened.store
  }, 120_000)
  afterAll(async () => {
    await opened?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('inserts a profile as given, its credential sealed, and reads it back', async () => {
    const made = (await store.insert(
      'u_ann',
      { name: 'coder', description: '', adapter: 'tether', provider: 'anthropic', model: 'claude-x', systemPrompt: 'be brief', allowedTools: ['Bash'], limits: { maxBudgetUsd: 1.5, maxTurns: 4 }, credential: SECRET },
      10,
    ))!
    expect(made).toMatchObject({
      userId: 'u_ann',
      name: 'coder',
      description: null,
      adapter: 'tether',
      provider: 'anthropic',
      model: 'claude-x',
      systemPrompt: 'be brief',
      allowedTools: ['Bash'],
      maxBudgetUsd: 1.5,
      maxTurns: 4,
      createdAt: clock,
      updatedAt: clock,
      credentialUpdatedAt: clock,
    })
    expect(made.id).toMatch(/^agp_/)
    expect(JSON.stringify(made)).not.toContain(SECRET)
    expect(await store.get(made.id)).toEqual(made)
    expect(store.credentialOf(made)).toBe(SECRET)
    expect(await store.get('agp_none')).toBeNull()
    clock += 1
    const bare = (await store.insert('u_ann', { name: 'plain', adapter: 'tether' }, 10))!
    expect(bare).toMatchObject({ provider: null, model: null, allowedTools: null, maxBudgetUsd: null, credentialCiphertext: null, credentialUpdatedAt: null })
    expect(store.credentialOf(bare)).toBeNull()
  })

  it('lists one person’s profiles oldest first, or everyone’s', async () => {
    clock += 1
    await store.insert('u_bob', { name: 'bobs', adapter: 'tether' }, 10)
    expect((await store.list('u_ann')).map((p) => p.name)).toEqual(['coder', 'plain'])
    expect((await store.list(null)).map((p) => p.name)).toEqual(['coder', 'plain', 'bobs'])
    expect(await store.list('u_none')).toEqual([])
  })

  it('keeps a person under the cap, also when inserts race', async () => {
    clock += 1
    const racing = await Promise.all([1, 2, 3, 4].map((i) => Promise.resolve().then(() => store.insert('u_cap', { name: `c${i}`, adapter: 'tether' }, 2))))
    expect(racing.filter((r) => r !== null)).toHaveLength(2)
    expect(await store.list('u_cap')).toHaveLength(2)
    expect(await store.insert('u_cap', { name: 'one more', adapter: 'tether' }, 2)).toBeNull()
  })

  it('updates fields, replaces and clears the credential; unknown ids answer null', async () => {
    const [coder] = await store.list('u_ann')
    clock += 1
    const renamed = await store.update(coder!.id, { name: 'coder 2', description: 'x', limits: { maxTurns: null }, credential: `${SECRET}-new` })
    expect(renamed).toMatchObject({ name: 'coder 2', description: 'x', maxTurns: null, maxBudgetUsd: 1.5, updatedAt: clock, credentialUpdatedAt: clock })
    expect(store.credentialOf(renamed!)).toBe(`${SECRET}-new`)
    const cleared = await store.update(coder!.id, { credential: null })
    expect(cleared?.credentialCiphertext).toBeNull()
    expect(store.credentialOf(cleared!)).toBeNull()
    expect(await store.update('agp_none', { name: 'x' })).toBeNull()
  })

  it('removes a profile of its owner, or (null) of anyone', async () => {
    const [plain] = (await store.list('u_ann')).filter((p) => p.name === 'plain')
    expect(await store.remove(plain!.id, 'u_bob')).toBe(false)
    expect(await store.remove(plain!.id, 'u_ann')).toBe(true)
    expect(await store.get(plain!.id)).toBeNull()
    const [bobs] = await store.list('u_bob')
    expect(await store.remove(bobs!.id, null)).toBe(true)
    expect(await store.remove(bobs!.id, null)).toBe(false)
  })
})
