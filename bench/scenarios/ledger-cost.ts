/**
 * What the gateway's budget reservation and the quota's start claim cost on each engine (issue
 * 14), in process against a real SQLite file and a fresh PostgreSQL database on the test cluster:
 * - one reservation + settlement (the ledger writes of one model call), sequential, per call;
 * - two nodes (two connection pools) reserving 32 calls at once, all for ONE session (they queue
 *   on the session's advisory lock) and for 32 different sessions (no shared lock): calls/s;
 * - one session start's quota claim + confirm (the check and its claim row), per start.
 * Median of 5 rounds. Not a streams-server measurement: runs once, on ours-normal's turn.
 *
 *   npm run bench -- --only ledger-cost [--quick]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createQuotaChecks, type QuotaChecks } from '../../src/lib/accounts/quotas'
import { SqliteQuotaStore, type QuotaLimits } from '../../src/lib/accounts/quotas-store'
import { PgQuotaStore } from '../../src/lib/accounts/quotas-store-pg'
import { openDatabase } from '../../src/lib/db/connection'
import { openPostgres } from '../../src/lib/db/postgres'
import { ModelLedger, type Ledger } from '../../src/lib/gateway/ledger'
import { PgModelLedger } from '../../src/lib/gateway/ledger-pg'
import { freshDatabase } from '../../test/support/postgres'
import { median, now } from '../stats'
import type { Scenario } from './types'

const LIMITS: QuotaLimits = { concurrentSessions: null, sessionsPerDay: null, monthlySpendUsd: null }
const claims = { role: 'collaborator' as const, sid: '', sub: 'u_bench', account: 'u_bench', exp: 0, iat: 0 }
const done = { status: 'ok' as const, inputTokens: 100, outputTokens: 10, costUsd: 0.0001 }

/** ms per reservation + settlement, `n` in a row on one session. */
async function sequentialCalls(ledger: Ledger, session: string, n: number): Promise<number> {
  const t0 = now()
  for (let i = 0; i < n; i++) {
    const r = await ledger.reserve(session, 'echo:echo', 0.001, 1e9, { agentId: 'a', budgetUsd: null })
    if (!r.ok) throw new Error('refused in the bench')
    await ledger.settle(r.callId, done)
  }
  return (now() - t0) / n
}

/** Reservations + settlements per second, 32 at once alternating between two nodes. */
async function concurrentCalls(ledgers: Ledger[], sessionOf: (i: number) => string): Promise<number> {
  const t0 = now()
  await Promise.all(
    Array.from({ length: 32 }, async (_, i) => {
      const ledger = ledgers[i % ledgers.length]!
      const r = await ledger.reserve(sessionOf(i), 'echo:echo', 0.001, 1e9)
      if (!r.ok) throw new Error('refused in the bench')
      await ledger.settle(r.callId, done)
    }),
  )
  return 32 / ((now() - t0) / 1000)
}

/** ms per session start's quota check + claim + confirm. */
async function starts(checks: QuotaChecks, n: number, tag: string): Promise<number> {
  const t0 = now()
  for (let i = 0; i < n; i++) {
    const ticket = await checks.beginSession(claims)
    if (ticket instanceof Response) throw new Error(`refused: ${await ticket.text()}`)
    await ticket.commit(`s_${tag}_${i}`)
  }
  return (now() - t0) / n
}

export const ledgerCost: Scenario = {
  id: 'ledger-cost',
  title: 'budget reservation and quota claim per engine (in process)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'sqliteCall', label: 'SQLite: reserve + settle one call', unit: 'ms', better: 'lower', digits: 3 },
    { key: 'pgCall', label: 'PostgreSQL: reserve + settle one call', unit: 'ms', better: 'lower', digits: 3 },
    { key: 'pgSameSession', label: 'PostgreSQL, 2 nodes, 32 calls at once, one session', unit: 'calls/s', better: 'higher', digits: 0 },
    { key: 'pgManySessions', label: 'PostgreSQL, 2 nodes, 32 calls at once, 32 sessions', unit: 'calls/s', better: 'higher', digits: 0 },
    { key: 'sqliteStart', label: 'SQLite: quota check + claim + confirm a start', unit: 'ms', better: 'lower', digits: 3 },
    { key: 'pgStart', label: 'PostgreSQL: quota check + claim + confirm a start', unit: 'ms', better: 'lower', digits: 3 },
  ],
  async run({ quick, log }) {
    const n = quick ? 50 : 100 // 300 took 40 s of a full run (PostgreSQL at ~10 ms a call)
    const dir = mkdtempSync(join(tmpdir(), 'tether-bench-ledger-'))
    const db = openDatabase({ file: join(dir, 'tether.db') })
    const fresh = await freshDatabase()
    const nodes = [await openPostgres(fresh.url, { max: 10 }), await openPostgres(fresh.url, { max: 10 })]
    try {
      const sqlite = new ModelLedger(db.db, Date.now)
      const pg = nodes.map((node) => new PgModelLedger(node.db, Date.now))
      const sqliteChecks = createQuotaChecks({ store: new SqliteQuotaStore(db.sqlite, LIMITS, Date.now), now: Date.now, isPerson: () => true, onExceeded: () => undefined })
      const pgChecks = createQuotaChecks({ store: new PgQuotaStore(nodes[0]!.db, LIMITS, Date.now), now: Date.now, isPerson: () => true, onExceeded: () => undefined })
      const rounds: Record<string, number[]> = {}
      const add = (key: string, v: number) => (rounds[key] ??= []).push(v)
      for (let round = 0; round < 5; round++) {
        add('sqliteCall', await sequentialCalls(sqlite, 's_seq', n))
        add('pgCall', await sequentialCalls(pg[0]!, 's_seq', n))
        add('pgSameSession', await concurrentCalls(pg, () => `s_one_${round}`))
        add('pgManySessions', await concurrentCalls(pg, (i) => `s_many_${round}_${i}`))
        add('sqliteStart', await starts(sqliteChecks, n, `sq${round}`))
        add('pgStart', await starts(pgChecks, n, `pg${round}`))
      }
      const out = Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)]))
      log(`ledger-cost: ${Object.entries(out).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`)
      return out
    } finally {
      for (const node of nodes) await node.close()
      await fresh.drop()
      db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
