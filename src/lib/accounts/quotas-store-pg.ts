/**
 * Per-user quotas in PostgreSQL (issue #14): the QuotaStore of quotas-store.ts on the schema-pg
 * tables. Every answer is a promise. Each method is one statement: setOverrides an
 * `INSERT … ON CONFLICT DO UPDATE`, recordStart an `INSERT … ON CONFLICT DO NOTHING` (a repeat
 * is a no-op, as SQLite's `INSERT OR IGNORE`), and usageOf reads the three counts in one round
 * trip from one snapshot.
 */
import { sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { dayStart, monthStart, parseOverrides, type QuotaLimits, type QuotaOverrides, type QuotaStore, type QuotaUsage } from './quotas-store'

export class PgQuotaStore implements QuotaStore {
  constructor(
    private readonly db: PostgresJsDatabase,
    private readonly defaults: QuotaLimits,
    private readonly now: () => number,
  ) {}

  async overrides(userId: string): Promise<QuotaOverrides> {
    const [row] = await this.db.execute<{ limits: string }>(sql`SELECT limits FROM user_quotas WHERE user_id = ${userId}`)
    return row ? parseOverrides(row.limits) : {}
  }

  async setOverrides(userId: string, overrides: QuotaOverrides, by: string): Promise<void> {
    await this.db.execute(sql`
      INSERT INTO user_quotas (user_id, limits, updated_at, updated_by) VALUES (${userId}, ${JSON.stringify(overrides)}, ${this.now()}, ${by})
      ON CONFLICT (user_id) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at, updated_by = excluded.updated_by`)
  }

  defaultLimits(): QuotaLimits {
    return { ...this.defaults }
  }

  async limitsOf(userId: string): Promise<QuotaLimits> {
    return { ...this.defaults, ...(await this.overrides(userId)) }
  }

  async usageOf(userId: string, at = this.now()): Promise<QuotaUsage> {
    const [row] = await this.db.execute<{ live: number; today: number; usd: number }>(sql`
      SELECT
        (SELECT count(*) FROM sessions WHERE created_by = ${userId} AND status IN ('active', 'idle')) AS live,
        (SELECT count(*) FROM user_session_starts WHERE user_id = ${userId} AND created_at >= ${dayStart(at)}) AS today,
        (${this.spendSql(userId, at)}) AS usd`)
    return { concurrentSessions: Number(row?.live ?? 0), sessionsPerDay: Number(row?.today ?? 0), monthlySpendUsd: Number(row?.usd ?? 0) }
  }

  async monthlySpend(userId: string, at = this.now()): Promise<number> {
    const [row] = await this.db.execute<{ usd: number }>(sql`SELECT (${this.spendSql(userId, at)}) AS usd`)
    return Number(row?.usd ?? 0)
  }

  async recordStart(userId: string, sessionId: string): Promise<void> {
    await this.db.execute(sql`
      INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (${sessionId}, ${userId}, ${this.now()})
      ON CONFLICT (session_id) DO NOTHING`)
  }

  /** The person's starts (index) and each one's calls (index), as in SQLite's store. */
  private spendSql(userId: string, at: number) {
    return sql`SELECT coalesce(sum(m.cost_usd), 0)::float8 FROM user_session_starts s JOIN model_calls m ON m.session_id = s.session_id
      WHERE s.user_id = ${userId} AND m.started_at >= ${monthStart(at)}`
  }
}
