/**
 * What quotas and rate limits cost per request (issue #11), CPU-bound, in process, with a real
 * SQLite file: microseconds of one rate-limit check (RateLimiterMemory, the writer's and the
 * sessions API's extra step), one quota check before a session is created (three counts in
 * SQLite for a person with 200 sessions and 2,000 model calls), and the gateway's monthly-spend
 * check before a model call. Best of 5 rounds.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/lib/db/connection'
import { createQuotaChecks } from '../../src/lib/accounts/quotas'
import { SqliteQuotaStore } from '../../src/lib/accounts/quotas-store'
import { createRateLimits } from '../../src/lib/ops/rate-limit'
import type { SessionRecord } from '../../src/lib/sessions/session-types'
import { now } from '../stats'
import type { Scenario } from './types'

export const limitsCost: Scenario = {
  id: 'limits-cost',
  title: 'quotas and rate limits per request (µs, in process)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'rate', label: 'rate-limit check', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'session', label: 'quota check before a new session', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'call', label: 'monthly-spend check before a model call', unit: 'µs', better: 'lower', digits: 1 },
  ],
  async run({ quick, log }) {
    const db = openDatabase({ file: join(mkdtempSync(join(tmpdir(), 'tether-bench-limits-')), 'tether.db') })
    try {
      const at = Date.now()
      const user = 'u_bench'
      const insertSession = db.sqlite.prepare(
        `INSERT INTO sessions (id, pattern, status, created_at, updated_at, created_by) VALUES (?, 'long-running', ?, ?, ?, ?)`,
      )
      const insertCall = db.sqlite.prepare(`INSERT INTO model_calls (session_id, model, status, cost_usd, started_at) VALUES (?, 'echo:echo', 'ok', 0.001, ?)`)
      const store = new SqliteQuotaStore(db.sqlite, { concurrentSessions: 1_000, sessionsPerDay: 10_000, monthlySpendUsd: 1_000 }, () => at)
      for (let i = 0; i < 200; i++) {
        insertSession.run(`s_${i}`, i % 4 === 0 ? 'active' : 'completed', at - i * 60_000, at, user)
        store.recordStart(user, `s_${i}`)
        for (let c = 0; c < 10; c++) insertCall.run(`s_${i}`, at - i * 60_000)
      }
      const checks = createQuotaChecks({ store, now: () => at, isPerson: () => true, onExceeded: () => undefined })
      const rate = createRateLimits({ windowSeconds: 60, sessions: 1e9, writes: 1e9, workers: 1e9 })
      const claims = { role: 'collaborator' as const, sid: '', sub: user, account: user, exp: 0, iat: 0 }
      const session = { id: 's_0', createdBy: user } as SessionRecord
      const n = quick ? 2_000 : 20_000
      const best = { rate: Number.POSITIVE_INFINITY, session: Number.POSITIVE_INFINITY, call: Number.POSITIVE_INFINITY }
      for (let round = 0; round < 5; round++) {
        let t0 = now()
        for (let i = 0; i < n; i++) if (await rate(claims, 'writes')) throw new Error('rate-limited in the bench')
        best.rate = Math.min(best.rate, ((now() - t0) * 1000) / n)
        t0 = now()
        for (let i = 0; i < n / 10; i++) {
          const ticket = await checks.beginSession(claims)
          if (ticket instanceof Response) throw new Error(`refused: ${await ticket.text()}`)
          await ticket.release()
        }
        best.session = Math.min(best.session, ((now() - t0) * 1000) / (n / 10))
        t0 = now()
        for (let i = 0; i < n / 10; i++) await checks.spendLimit(session)
        best.call = Math.min(best.call, ((now() - t0) * 1000) / (n / 10))
      }
      log(`limits-cost: rate ${best.rate.toFixed(1)} µs, session quota ${best.session.toFixed(1)} µs, model-call quota ${best.call.toFixed(1)} µs`)
      return best
    } finally {
      db.close()
    }
  },
}
