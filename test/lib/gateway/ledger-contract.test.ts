/**
 * The Ledger contract, run against both implementations: SQLite (ModelLedger, a real file in a
 * temp dir) and PostgreSQL (PgModelLedger, a fresh database on the test cluster). Reserve, settle,
 * refuse, the totals (session, agent, by agent) and both budgets; and the session store decorator
 * folding the ledger into usage on either engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ModelLedger, type Ledger } from '../../../src/lib/gateway/ledger'
import { PgModelLedger } from '../../../src/lib/gateway/ledger-pg'
import { withLedgerUsage } from '../../../src/lib/gateway/usage-store'
import type { SessionStore } from '../../../src/lib/sessions/session-rows'
import { SqliteSessionStore } from '../../../src/lib/sessions/session-store'
import { PgSessionStore } from '../../../src/lib/sessions/session-store-pg'
import { bothEngines } from '../../support/engines'

const at = Date.UTC(2026, 10, 30, 6)

/** Records that a person started a session (the accounts' table the monthly spend is summed over). */
type AddStart = (userId: string, sessionId: string) => Promise<void>

const ENGINES = bothEngines<{ ledger: Ledger; sessions: SessionStore; addStart: AddStart }>({
  sqlite: (db) => ({
    ledger: new ModelLedger(db.db, () => at),
    sessions: new SqliteSessionStore(db.db),
    addStart: async (u, s) => void db.sqlite.prepare('INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (?, ?, ?)').run(s, u, at),
  }),
  postgres: (pg) => ({
    ledger: new PgModelLedger(pg.db, () => at),
    sessions: new PgSessionStore(pg.db),
    addStart: async (u, s) => void (await pg.sql`INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (${s}, ${u}, ${at})`),
  }),
})

const usage = { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, lastActivityAt: null }

describe.each(Object.keys(ENGINES))('Ledger on %s', (engine) => {
  let opened: Awaited<ReturnType<(typeof ENGINES)[string]>>
  let ledger: Ledger
  beforeAll(async () => {
    opened = await ENGINES[engine]!()
    ledger = opened.ledger
  })
  afterAll(async () => {
    await opened?.close()
  })

  it('counts a running call at its worst case, then at its settled cost', async () => {
    const r = await ledger.reserve('s1', 'echo:echo', 0.5, 1)
    if (!r.ok) throw new Error('refused')
    expect(r).toMatchObject({ spentUsd: 0, agentSpentUsd: 0 })
    expect(await ledger.totals('s1')).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0.5 })
    await ledger.settle(r.callId, { status: 'ok', inputTokens: 100, outputTokens: 20, costUsd: 0.1234567891 })
    expect(await ledger.totals('s1')).toEqual({ inputTokens: 100, outputTokens: 20, costUsd: 0.123456789 })
    const rows = await ledger.calls('s1')
    expect(rows.map((c) => [c.status, c.inputTokens, c.outputTokens, c.estimateUsd, c.agentId, c.endedAt])).toEqual([['ok', 100, 20, 0.5, null, at]])
  })

  it("refuses a reservation past the session's budget and writes nothing for it", async () => {
    const first = await ledger.reserve('s2', 'echo:echo', 0.6, 1)
    expect(first.ok).toBe(true)
    expect(await ledger.reserve('s2', 'echo:echo', 0.6, 1)).toEqual({ ok: false, over: 'session', spentUsd: 0.6, agentSpentUsd: 0 })
    expect(await ledger.calls('s2')).toHaveLength(1)
    // Exactly at the budget is allowed (spent + estimate > budget refuses).
    expect((await ledger.reserve('s2', 'echo:echo', 0.4, 1)).ok).toBe(true)
    expect((await ledger.reserve('s2', 'echo:echo', 0, null)).ok).toBe(true)
  })

  it("checks the agent's own budget after the session's, and sums per agent", async () => {
    const a = { agentId: 'a', budgetUsd: 0.5 }
    expect(await ledger.reserve('s3', 'echo:echo', 0.4, 10, a)).toMatchObject({ ok: true, spentUsd: 0, agentSpentUsd: 0 })
    expect(await ledger.reserve('s3', 'echo:echo', 0.2, 10, a)).toEqual({ ok: false, over: 'agent', spentUsd: 0.4, agentSpentUsd: 0.4 })
    // Another agent of the session has its own budget but shares the session's.
    expect(await ledger.reserve('s3', 'echo:echo', 0.3, 10, { agentId: 'b', budgetUsd: null })).toMatchObject({ ok: true, spentUsd: 0.4, agentSpentUsd: 0 })
    expect(await ledger.reserve('s3', 'echo:echo', 0.4, 1, { agentId: 'b', budgetUsd: null })).toEqual({
      ok: false,
      over: 'session',
      spentUsd: 0.7,
      agentSpentUsd: 0.3,
    })
    await ledger.reserve('s3', 'echo:echo', 0.01, null)
    expect(await ledger.agentTotals('s3', 'a')).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0.4 })
    expect(await ledger.agentTotals('s3', 'nobody')).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0 })
    const byAgent = await ledger.totalsByAgent('s3')
    expect([...byAgent.entries()].sort()).toEqual([
      ['a', { inputTokens: 0, outputTokens: 0, costUsd: 0.4 }],
      ['b', { inputTokens: 0, outputTokens: 0, costUsd: 0.3 }],
    ])
    expect((await ledger.totals('s3')).costUsd).toBe(0.71)
  })

  it("refuses once the owner's spend this month over all their sessions reached their limit, before the session's budget", async () => {
    await opened.addStart('u1', 'o1')
    await opened.addStart('u1', 'o2')
    const owner = { userId: 'u1', limitUsd: 1, sinceMs: at - 1000 }
    expect(await ledger.reserve('o1', 'echo:echo', 0.6, null, undefined, owner)).toMatchObject({ ok: true })
    // Below the limit the next call goes on, even one that takes the spend past it.
    expect(await ledger.reserve('o2', 'echo:echo', 0.6, null, undefined, owner)).toMatchObject({ ok: true })
    expect(await ledger.reserve('o2', 'echo:echo', 0.1, 0.5, undefined, owner)).toEqual({
      ok: false,
      over: 'owner',
      spentUsd: 0.6,
      agentSpentUsd: 0,
      ownerSpentUsd: 1.2,
    })
    // Another person's session, or spend before `sinceMs`, is not counted.
    await opened.addStart('u2', 'o3')
    expect(await ledger.reserve('o3', 'echo:echo', 0.1, null, undefined, { userId: 'u2', limitUsd: 1, sinceMs: at - 1000 })).toMatchObject({ ok: true })
    expect(await ledger.reserve('o1', 'echo:echo', 0.1, null, undefined, { ...owner, sinceMs: at + 1 })).toMatchObject({ ok: true })
  })

  it('keeps a refused call for the audit trail at no cost', async () => {
    await ledger.refuse('s4', 'echo:echo', 2, `over budget ${'x'.repeat(2000)}`, 'a')
    const [row] = await ledger.calls('s4')
    expect(row).toMatchObject({ status: 'refused', costUsd: 0, estimateUsd: 2, agentId: 'a', startedAt: at, endedAt: at })
    expect(row?.error).toHaveLength(1000)
    expect(await ledger.totals('s4')).toEqual({ inputTokens: 0, outputTokens: 0, costUsd: 0 })
    expect(await ledger.calls('nobody')).toEqual([])
  })

  it("folds the ledger into a session's usage through withLedgerUsage: the larger of report and ledger", async () => {
    const store = withLedgerUsage(opened.sessions, ledger)
    const limits = { maxIdleTimeMs: null, maxLifetimeMs: null, maxBudgetUsd: null, maxTurns: null }
    await store.insert({ id: 's5', pattern: 'long-running', title: null, agent: {}, limits, metadata: {}, createdBy: null, now: at })
    const r = await ledger.reserve('s5', 'echo:echo', 1, null)
    if (!r.ok) throw new Error('refused')
    await ledger.settle(r.callId, { status: 'ok', inputTokens: 50, outputTokens: 5, costUsd: 0.25 })
    await store.updateUsage('s5', { ...usage, tokensIn: 10, tokensOut: 9, turns: 2, lastActivityAt: at })
    expect((await store.get('s5'))?.usage).toEqual({ tokensIn: 50, tokensOut: 9, costUsd: 0.25, turns: 2, lastActivityAt: at })
    // noteUsage (the write path) folds too, and skips a move of only the activity time.
    const r2 = await ledger.reserve('s5', 'echo:echo', 1, null)
    if (!r2.ok) throw new Error('refused')
    await store.noteUsage('s5', { ...usage, tokensIn: 10, tokensOut: 9, turns: 3, lastActivityAt: at + 1 })
    expect((await store.get('s5'))?.usage).toMatchObject({ costUsd: 1.25, turns: 3, lastActivityAt: at + 1 })
    await store.noteUsage('s5', { ...usage, tokensIn: 10, tokensOut: 9, turns: 3, lastActivityAt: at + 2 })
    expect((await store.get('s5'))?.usage.lastActivityAt).toBe(at + 1)
    expect(await store.remove('s5')).toBe(true)
    expect(await store.get('s5')).toBeNull()
  })
})
