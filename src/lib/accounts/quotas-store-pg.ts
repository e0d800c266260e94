/**
 * Per-user quotas in PostgreSQL (issue #14): the QuotaStore of quotas-store.ts on the schema-pg
 * tables. Every answer is a promise. Each method is one statement: setOverrides an
 * `INSERT … ON CONFLICT DO UPDATE`, recordStart an `INSERT … ON CONFLICT DO NOTHING` (a repeat
 * is a no-op, as SQLite's `INSERT OR IGNORE`), and usageOf reads the three counts in one round
 * trip from one snapshot. claimStart is one transaction that first takes
 * `pg_advisory_xact_lock(hashtextextended('quota-starts:<user id>', 0))`: every node's claim for
 * one person queues on it, and the usage read after it (READ COMMITTED: a fresh snapshot per
 * statement) sees every earlier claim, so two nodes cannot both take a person's last slot.
 */
import { sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { ownerSpendSql } from '../gateway/ledger'
import {
  CLAIM_PREFIX,
  CLAIM_TTL_MS,
  dayStart,
  monthStart,
  newClaimId,
  parseOverrides,
  withClaims,
  type QuotaLimits,
  type QuotaOverrides,
  type QuotaStore,
  type QuotaUsage,
  type StartClaim,
} from './quotas-store'

type Db = Pick<PostgresJsDatabase, 'execute'>
const PENDING = `${CLAIM_PREFIX}%`

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

  usageOf(userId: string, at = this.now()): Promise<QuotaUsage> {
    return this.usageWithClaims(this.db, userId, at, false)
  }

  /** The usage in one round trip from one snapshot; `claims`: also the live claims, added to both counts. */
  private async usageWithClaims(db: Db, userId: string, at: number, claims: boolean): Promise<QuotaUsage> {
    const pending = claims
      ? sql`(SELECT count(*) FROM user_session_starts WHERE user_id = ${userId} AND session_id LIKE ${PENDING} AND created_at >= ${at - CLAIM_TTL_MS})`
      : sql`0`
    const [row] = await db.execute<{ live: number; today: number; usd: number; pending: number }>(sql`
      SELECT
        (SELECT count(*) FROM sessions WHERE created_by = ${userId} AND status IN ('active', 'idle')) AS live,
        (SELECT count(*) FROM user_session_starts WHERE user_id = ${userId} AND created_at >= ${dayStart(at)} AND session_id NOT LIKE ${PENDING}) AS today,
        (${this.spendSql(userId, at)}) AS usd,
        ${pending} AS pending`)
    const usage = { concurrentSessions: Number(row?.live ?? 0), sessionsPerDay: Number(row?.today ?? 0), monthlySpendUsd: Number(row?.usd ?? 0) }
    return withClaims(usage, Number(row?.pending ?? 0))
  }

  claimStart(userId: string, at: number, admit: (usage: QuotaUsage) => boolean): Promise<StartClaim> {
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`quota-starts:${userId}`}, 0))`)
      await tx.execute(sql`DELETE FROM user_session_starts WHERE user_id = ${userId} AND session_id LIKE ${PENDING} AND created_at < ${at - CLAIM_TTL_MS}`)
      const usage = await this.usageWithClaims(tx, userId, at, true)
      if (!admit(usage)) return { usage, claimId: null }
      const claimId = newClaimId()
      await tx.execute(sql`INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (${claimId}, ${userId}, ${at})`)
      return { usage, claimId }
    })
  }

  /** One statement: the claim's delete and the start's insert commit together. */
  async confirmStart(claimId: string, userId: string, sessionId: string): Promise<void> {
    await this.db.execute(sql`
      WITH gone AS (DELETE FROM user_session_starts WHERE session_id = ${claimId})
      INSERT INTO user_session_starts (session_id, user_id, created_at) VALUES (${sessionId}, ${userId}, ${this.now()})
      ON CONFLICT (session_id) DO NOTHING`)
  }

  async dropStart(claimId: string): Promise<void> {
    await this.db.execute(sql`DELETE FROM user_session_starts WHERE session_id = ${claimId}`)
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

  /** The person's spend this month: the ledger's own query (gateway/ledger.ts), so quota and reservation agree. */
  private spendSql(userId: string, at: number) {
    return ownerSpendSql(userId, monthStart(at))
  }
}
