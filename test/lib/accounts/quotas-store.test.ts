/**
 * The QuotaStore contract, run against both implementations: SQLite (a real file in a temp dir,
 * quotas-store.ts) and PostgreSQL (a fresh database on the test cluster, quotas-store-pg.ts).
 * Overrides over the defaults, and the usage counted from sessions, starts and model calls, plus
 * the quota check on top (quotas.ts) letting only one of two concurrent starts take a last slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createQuotaChecks, type QuotaChecks, type QuotaTicket } from '../../../src/lib/accounts/quotas'
import { CLAIM_TTL_MS, SqliteQuotaStore, type QuotaLimits, type QuotaStore } from '../../../src/lib/accounts/quotas-store'
import { PgQuotaStore } from '../../../src/lib/accounts/quotas-store-pg'
import type { TokenClaims } from '../../../src/lib/sessions/tokens'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { bothEngines } from '../../support/engines'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

interface Opened {
  store: QuotaStore
  /** A session row (created_by, status) and its model calls, written straight to the tables. */
  seed(id: string, createdBy: string, status: string, callsUsd: number[], callsAt: number): Promise<void>
  close(): Promise<void>
}

const at = Date.UTC(2026, 10, 29, 12)
const now = () => at
const DEFAULTS: QuotaLimits = { concurrentSessions: 3, sessionsPerDay: 10, monthlySpendUsd: 5 }

const ENGINES = bothEngines<Omit<Opened, 'close'>>({
  sqlite: (db) => {
    const session = db.sqlite.prepare(`INSERT INTO sessions (id, pattern, status, created_at, updated_at, created_by) VALUES (?, 'long-running', ?, ?, ?, ?)`)
    const call = db.sqlite.prepare(`INSERT INTO model_calls (session_id, model, status, cost_usd, started_at) VALUES (?, 'echo:echo', 'ok', ?, ?)`)
    return {
      store: new SqliteQuotaStore(db.sqlite, DEFAULTS, now),
      seed: async (id, createdBy, status, callsUsd, callsAt) => {
        session.run(id, status, at, at, createdBy)
        for (const usd of callsUsd) call.run(id, usd, callsAt)
      },
    }
  },
  postgres: (pg) => ({
    store: new PgQuotaStore(pg.db, DEFAULTS, now),
    seed: async (id, createdBy, status, callsUsd, callsAt) => {
      await pg.sql`INSERT INTO sessions (id, pattern, status, created_at, updated_at, created_by) VALUES (${id}, 'long-running', ${status}, ${at}, ${at}, ${createdBy})`
      for (const usd of callsUsd) await pg.sql`INSERT INTO model_calls (session_id, model, status, cost_usd, started_at) VALUES (${id}, 'echo:echo', 'ok', ${usd}, ${callsAt})`
    },
  }),
})

const DAY = 86_400_000

describe.each(Object.keys(ENGINES))('QuotaStore on %s', (engine) => {
  let opened: Opened
  let store: QuotaStore
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
    store = opened.store
  })
  afterAll(async () => {
    await opened?.close()
  })

  it('answers the defaults until an admin overrides them, with null meaning unlimited', async () => {
    expect(await store.overrides('u_a')).toEqual({})
    expect(await store.limitsOf('u_a')).toEqual(DEFAULTS)
    await store.setOverrides('u_a', { concurrentSessions: 7, monthlySpendUsd: null }, 'u_admin')
    expect(await store.overrides('u_a')).toEqual({ concurrentSessions: 7, monthlySpendUsd: null })
    expect(await store.limitsOf('u_a')).toEqual({ concurrentSessions: 7, sessionsPerDay: 10, monthlySpendUsd: null })
    await store.setOverrides('u_a', { sessionsPerDay: 2 }, 'u_admin')
    expect(await store.limitsOf('u_a')).toEqual({ ...DEFAULTS, sessionsPerDay: 2 })
    expect(store.defaultLimits()).toEqual(DEFAULTS)
  })

  it("counts a person's live sessions, today's starts (not yesterday's) and this month's spend of their started sessions", async () => {
    await opened.seed('s_live', 'u_b', 'active', [0.25, 0.5], at - DAY)
    await opened.seed('s_idle', 'u_b', 'idle', [], at)
    await opened.seed('s_done', 'u_b', 'completed', [1], at - 40 * DAY)
    await opened.seed('s_other', 'u_c', 'active', [9], at)
    await store.recordStart('u_b', 's_live')
    await store.recordStart('u_b', 's_live')
    await store.recordStart('u_b', 's_idle')
    await store.recordStart('u_c', 's_other')
    const usage = await store.usageOf('u_b', at)
    expect(usage).toEqual({ concurrentSessions: 2, sessionsPerDay: 2, monthlySpendUsd: 0.75 })
    expect(await store.monthlySpend('u_b', at)).toBe(0.75)
    expect((await store.usageOf('u_b', at + DAY)).sessionsPerDay).toBe(0)
    expect(await store.usageOf('u_nobody', at)).toEqual({ concurrentSessions: 0, sessionsPerDay: 0, monthlySpendUsd: 0 })
  })

  it('lets only one of two concurrent starts take the last concurrent-session slot', async () => {
    await store.setOverrides('u_d', { concurrentSessions: 1 }, 'u_admin')
    const checks = createQuotaChecks({ store, now, isPerson: () => true, onExceeded: () => undefined })
    const claims = { role: 'collaborator', sid: '', sub: 'u_d', account: 'u_d', exp: 0, iat: 0 } as TokenClaims
    const [a, b] = await Promise.all([checks.beginSession(claims), checks.beginSession(claims)])
    const refused = [a, b].filter((t) => t instanceof Response)
    expect(refused).toHaveLength(1)
    expect((refused[0] as Response).status).toBe(403)
    const ticket = [a, b].find((t) => !(t instanceof Response))
    if (!ticket || ticket instanceof Response) throw new Error('no ticket')
    await opened.seed('s_d', 'u_d', 'active', [], at)
    await ticket.commit('s_d')
    expect(await store.usageOf('u_d', at)).toMatchObject({ concurrentSessions: 1, sessionsPerDay: 1 })
    expect(await checks.beginSession(claims)).toBeInstanceOf(Response)
  })

  it('counts a claimed start toward both quotas until it is confirmed (then once) or dropped; an expired claim stops counting', async () => {
    const none = { concurrentSessions: 0, sessionsPerDay: 0, monthlySpendUsd: 0 }
    const admitted = await store.claimStart('u_e', at, (usage) => {
      expect(usage).toEqual(none)
      return true
    })
    expect(admitted.claimId).toMatch(/^pending:/)
    const seen = await store.claimStart('u_e', at, () => false)
    expect(seen).toEqual({ usage: { ...none, concurrentSessions: 1, sessionsPerDay: 1 }, claimId: null })
    // What the quotas API shows counts recorded starts only.
    expect(await store.usageOf('u_e', at)).toEqual(none)
    await opened.seed('s_e', 'u_e', 'active', [], at)
    await store.confirmStart(admitted.claimId!, 'u_e', 's_e')
    await store.confirmStart(admitted.claimId!, 'u_e', 's_e')
    expect(await store.usageOf('u_e', at)).toEqual({ ...none, concurrentSessions: 1, sessionsPerDay: 1 })
    expect((await store.claimStart('u_e', at, () => false)).usage).toEqual({ ...none, concurrentSessions: 1, sessionsPerDay: 1 })
    const dropped = await store.claimStart('u_e', at, () => true)
    await store.dropStart(dropped.claimId!)
    expect((await store.claimStart('u_e', at, () => false)).usage.sessionsPerDay).toBe(1)
    // A node that died mid-creation leaves its claim: it counts for CLAIM_TTL_MS, then not.
    await store.claimStart('u_e', at, () => true)
    expect((await store.claimStart('u_e', at + CLAIM_TTL_MS - 1, () => false)).usage.concurrentSessions).toBe(2)
    expect((await store.claimStart('u_e', at + CLAIM_TTL_MS + 1, () => false)).usage.concurrentSessions).toBe(1)
  })
})

describe('quota checks on two PostgreSQL nodes at once', () => {
  let fresh: TestDatabase
  let nodes: OpenedPostgres[] = []
  let stores: PgQuotaStore[] = []
  let checks: QuotaChecks[] = []
  beforeAll(async () => {
    fresh = await freshDatabase()
    nodes = [await openPostgres(fresh.url, { max: 8 }), await openPostgres(fresh.url, { max: 8 })]
    stores = nodes.map((n) => new PgQuotaStore(n.db, DEFAULTS, now))
    checks = stores.map((store) => createQuotaChecks({ store, now, isPerson: () => true, onExceeded: () => undefined }))
  })
  afterAll(async () => {
    for (const n of nodes) await n.close()
    await fresh?.drop()
  })

  const claims = (account: string) => ({ role: 'collaborator', sid: '', sub: account, account, exp: 0, iat: 0 }) as TokenClaims
  /** 24 starts of one person, alternating between the two nodes, all begun before any is answered. */
  const race = (account: string) => Promise.all(Array.from({ length: 24 }, (_, i) => checks[i % 2]!.beginSession(claims(account))))

  it('lets exactly as many starts through as the concurrent-sessions quota allows', async () => {
    const answers = await race('u_race')
    expect(answers.filter((a) => !(a instanceof Response))).toHaveLength(DEFAULTS.concurrentSessions!)
    expect(answers.filter((a) => a instanceof Response).every((a) => (a as Response).status === 403)).toBe(true)
  })

  it('lets exactly as many starts through as the daily quota allows, once the tickets are committed', async () => {
    await stores[0]!.setOverrides('u_day', { concurrentSessions: null, sessionsPerDay: 4 }, 'u_admin')
    const answers = await race('u_day')
    const tickets = answers.filter((a): a is QuotaTicket => !(a instanceof Response))
    expect(tickets).toHaveLength(4)
    await Promise.all(tickets.map((t, i) => t.commit(`s_day_${i}`)))
    expect((await stores[0]!.usageOf('u_day', at)).sessionsPerDay).toBe(4)
    expect(((await race('u_day')).filter((a) => a instanceof Response) as Response[]).map((r) => r.status)).toEqual(Array(24).fill(429))
  })
})
