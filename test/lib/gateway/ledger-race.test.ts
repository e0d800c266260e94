/**
 * The budget promise across nodes: two PgModelLedgers on two separate connection pools (two
 * nodes) on one fresh PostgreSQL database race many reservations for the same session, and the
 * reserved total never passes the budget (nor an agent's total its own budget). Each reservation
 * is 1/8 of the budget (exact in binary), so exactly 8 may pass whatever the interleaving. The
 * same for a person's monthly spend limit over several of their sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { PgModelLedger } from '../../../src/lib/gateway/ledger-pg'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

describe('PgModelLedger reservations from two nodes at once', () => {
  let fresh: TestDatabase
  let nodes: OpenedPostgres[] = []
  let ledgers: PgModelLedger[] = []
  beforeAll(async () => {
    fresh = await freshDatabase()
    // Migrations run once: the second handle opens an already migrated database.
    nodes = [await openPostgres(fresh.url, { max: 8 }), await openPostgres(fresh.url, { max: 8 })]
    ledgers = nodes.map((n) => new PgModelLedger(n.db, Date.now))
  })
  afterAll(async () => {
    for (const n of nodes) await n.close()
    await fresh?.drop()
  })

  /** 24 reservations per node, all started before any is answered, alternating between the nodes. */
  const race = (reserve: (l: PgModelLedger, i: number) => ReturnType<PgModelLedger['reserve']>) =>
    Promise.all(Array.from({ length: 48 }, (_, i) => reserve(ledgers[i % 2]!, i)))

  it("never lets the session's reserved total pass its budget", async () => {
    const results = await race((l) => l.reserve('s_race', 'echo:echo', 0.125, 1))
    expect(results.filter((r) => r.ok)).toHaveLength(8)
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.over === 'session')).toBe(true)
    expect((await ledgers[0]!.totals('s_race')).costUsd).toBe(1)
    expect(await ledgers[1]!.calls('s_race')).toHaveLength(8)
  })

  it("never lets an agent's reserved total pass its own budget, while another agent goes on", async () => {
    const results = await race((l, i) =>
      l.reserve('s_agents', 'echo:echo', 0.125, 100, i % 3 === 0 ? { agentId: 'b', budgetUsd: null } : { agentId: 'a', budgetUsd: 1 }),
    )
    const passed = (agentId: string) => results.filter((r, i) => r.ok && (i % 3 === 0 ? 'b' : 'a') === agentId).length
    expect(passed('a')).toBe(8)
    expect(passed('b')).toBe(16)
    expect((await ledgers[1]!.agentTotals('s_agents', 'a')).costUsd).toBe(1)
  })

  it("never lets a person's calls in several sessions pass their monthly spend limit", async () => {
    // Three sessions of one person; their limit is 1: calls go on while the spend is below it.
    for (const s of ['p_1', 'p_2', 'p_3']) {
      await nodes[0]!.sql`INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (${s}, 'u_limited', ${Date.now()})`
    }
    const owner = { userId: 'u_limited', limitUsd: 1, sinceMs: 0 }
    const results = await race((l, i) => l.reserve(`p_${(i % 3) + 1}`, 'echo:echo', 0.125, null, undefined, owner))
    expect(results.filter((r) => r.ok)).toHaveLength(8)
    expect(results.filter((r) => !r.ok).every((r) => !r.ok && r.over === 'owner' && r.ownerSpentUsd === 1)).toBe(true)
    let total = 0
    for (const s of ['p_1', 'p_2', 'p_3']) total += (await ledgers[0]!.totals(s)).costUsd
    expect(total).toBe(1)
  })
})
