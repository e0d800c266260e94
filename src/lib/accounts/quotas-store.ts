/**
 * Per-user quotas in SQLite (tables: src/lib/db/schema/quotas.ts, drizzle 0011): an admin's
 * overrides over the server's defaults (TETHER_QUOTA_*), and the usage they are checked against:
 * - concurrent sessions: sessions the person owns (sessions.created_by) that have not ended;
 * - sessions per day: sessions the person started (create, fork) since 00:00 UTC today, from
 *   user_session_starts, which outlives deleted sessions (so deleting cannot reset the count);
 * - monthly spend: model_calls cost (running calls count at their reserved worst case) of the
 *   person's sessions since the 1st of this month, 00:00 UTC.
 * Plain prepared statements: these run on every session creation and every model call.
 *
 * A start is claimed before the session is created (claimStart): a `pending:<uuid>` row in
 * user_session_starts, counted toward both the concurrent and the daily quota, written in the same
 * atomic step as the check (SQLite: one synchronous transaction; PostgreSQL: one transaction under a
 * per-person advisory lock), so two starts, on one node or two, cannot both take the last slot.
 * confirmStart swaps the claim for the session's own row in one step; dropStart removes it. A claim
 * left by a node that died mid-creation stops counting after CLAIM_TTL_MS and is deleted by the
 * next claim. usageOf (what GET …/quotas shows) counts recorded starts only.
 * The `QuotaStore` interface is what callers use; this SQLite one answers values (synchronous),
 * the PostgreSQL one (quotas-store-pg.ts) promises, and callers await both.
 */
import { randomUUID } from 'node:crypto'
import type Database from 'better-sqlite3'
import type { MaybePromise } from '../streams/engine'

export const QUOTA_NAMES = ['concurrentSessions', 'sessionsPerDay', 'monthlySpendUsd'] as const
export type QuotaName = (typeof QUOTA_NAMES)[number]
/** A limit per quota; null = unlimited. */
export type QuotaLimits = Record<QuotaName, number | null>
/** An admin's overrides: a number or null (unlimited) per quota; a missing key = the default. */
export type QuotaOverrides = Partial<QuotaLimits>

export interface QuotaUsage {
  concurrentSessions: number
  sessionsPerDay: number
  monthlySpendUsd: number
}

/** The outcome of a claim: the usage the check saw (claims in flight included), and the claim's id unless refused. */
export interface StartClaim {
  usage: QuotaUsage
  claimId: string | null
}

/** Claimed starts are rows whose session id has this prefix (session ids are `s_…`). */
export const CLAIM_PREFIX = 'pending:'
/** How long a claim counts without being confirmed or dropped (a node that died mid-creation). */
export const CLAIM_TTL_MS = 10 * 60_000

export const newClaimId = () => `${CLAIM_PREFIX}${randomUUID()}`

/** Usage plus `pending` claims, which are both live sessions and today's starts. */
export const withClaims = (usage: QuotaUsage, pending: number): QuotaUsage => ({
  ...usage,
  concurrentSessions: usage.concurrentSessions + pending,
  sessionsPerDay: usage.sessionsPerDay + pending,
})

export const UNLIMITED: QuotaLimits = { concurrentSessions: null, sessionsPerDay: null, monthlySpendUsd: null }

/** 00:00 UTC of the day of `at`. */
export const dayStart = (at: number) => {
  const d = new Date(at)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}
/** 00:00 UTC on the 1st of the month of `at`. */
export const monthStart = (at: number) => {
  const d = new Date(at)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}

export interface QuotaStore {
  overrides(userId: string): MaybePromise<QuotaOverrides>
  setOverrides(userId: string, overrides: QuotaOverrides, by: string): MaybePromise<void>
  defaultLimits(): QuotaLimits
  /** The limits in force for a person: their overrides over the defaults. */
  limitsOf(userId: string): MaybePromise<QuotaLimits>
  usageOf(userId: string, at?: number): MaybePromise<QuotaUsage>
  monthlySpend(userId: string, at?: number): MaybePromise<number>
  /** Remembers that `userId` started `sessionId` (counts toward the day, and its spend toward the month); a repeat is a no-op. */
  recordStart(userId: string, sessionId: string): MaybePromise<void>
  /**
   * In one atomic step per person (across nodes): drops expired claims, reads the usage with the
   * live claims counted, and claims a start if `admit(usage)` says so. `admit` must be synchronous.
   */
  claimStart(userId: string, at: number, admit: (usage: QuotaUsage) => boolean): MaybePromise<StartClaim>
  /** The claimed start became `sessionId`: the claim is replaced by its recorded start (a repeat is a no-op). */
  confirmStart(claimId: string, userId: string, sessionId: string): MaybePromise<void>
  /** The claimed start did not happen. */
  dropStart(claimId: string): MaybePromise<void>
}

/** The stored `limits` JSON as overrides: only numbers and nulls under known names count. */
export function parseOverrides(limits: string): QuotaOverrides {
  const parsed = JSON.parse(limits) as Record<string, unknown>
  const out: QuotaOverrides = {}
  for (const name of QUOTA_NAMES) {
    const v = parsed[name]
    if (v === null || typeof v === 'number') out[name] = v
  }
  return out
}

export class SqliteQuotaStore implements QuotaStore {
  private readonly q
  private readonly claim: (userId: string, at: number, admit: (usage: QuotaUsage) => boolean) => StartClaim
  private readonly confirm: (claimId: string, userId: string, sessionId: string) => void

  constructor(
    sqlite: Database.Database,
    private readonly defaults: QuotaLimits,
    private readonly now: () => number,
  ) {
    this.q = {
      overrides: sqlite.prepare<[string], { limits: string }>('SELECT limits FROM user_quotas WHERE user_id = ?'),
      setOverrides: sqlite.prepare(
        `INSERT INTO user_quotas (user_id, limits, updated_at, updated_by) VALUES (?, ?, ?, ?)
         ON CONFLICT(user_id) DO UPDATE SET limits = excluded.limits, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      ),
      live: sqlite.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM sessions WHERE created_by = ? AND status IN ('active', 'idle')`),
      startsSince: sqlite.prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM user_session_starts WHERE user_id = ? AND created_at >= ? AND session_id NOT LIKE '${CLAIM_PREFIX}%'`,
      ),
      pending: sqlite.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM user_session_starts WHERE user_id = ? AND session_id LIKE '${CLAIM_PREFIX}%'`),
      dropExpired: sqlite.prepare(`DELETE FROM user_session_starts WHERE user_id = ? AND session_id LIKE '${CLAIM_PREFIX}%' AND created_at < ?`),
      drop: sqlite.prepare('DELETE FROM user_session_starts WHERE session_id = ?'),
      // The person's starts (index) and each one's calls (index): no scan of either table. Sessions
      // made before user_session_starts existed (drizzle 0011) are not counted.
      spendSince: sqlite.prepare<[string, number], { usd: number }>(
        `SELECT coalesce(sum(m.cost_usd), 0) AS usd FROM user_session_starts s JOIN model_calls m ON m.session_id = s.session_id
         WHERE s.user_id = ? AND m.started_at >= ?`,
      ),
      addStart: sqlite.prepare('INSERT OR IGNORE INTO user_session_starts (session_id, user_id, created_at) VALUES (?, ?, ?)'),
    }
    const q = this.q
    this.claim = sqlite.transaction((userId: string, at: number, admit: (usage: QuotaUsage) => boolean): StartClaim => {
      q.dropExpired.run(userId, at - CLAIM_TTL_MS)
      const usage = withClaims(this.usageOf(userId, at), q.pending.get(userId)?.n ?? 0)
      if (!admit(usage)) return { usage, claimId: null }
      const claimId = newClaimId()
      q.addStart.run(claimId, userId, at)
      return { usage, claimId }
    })
    this.confirm = sqlite.transaction((claimId: string, userId: string, sessionId: string) => {
      q.drop.run(claimId)
      q.addStart.run(sessionId, userId, this.now())
    })
  }

  overrides(userId: string): QuotaOverrides {
    const row = this.q.overrides.get(userId)
    return row ? parseOverrides(row.limits) : {}
  }

  setOverrides(userId: string, overrides: QuotaOverrides, by: string): void {
    this.q.setOverrides.run(userId, JSON.stringify(overrides), this.now(), by)
  }

  defaultLimits(): QuotaLimits {
    return { ...this.defaults }
  }

  /** The limits in force for a person: their overrides over the defaults. */
  limitsOf(userId: string): QuotaLimits {
    return { ...this.defaults, ...this.overrides(userId) }
  }

  usageOf(userId: string, at = this.now()): QuotaUsage {
    return {
      concurrentSessions: this.q.live.get(userId)?.n ?? 0,
      sessionsPerDay: this.q.startsSince.get(userId, dayStart(at))?.n ?? 0,
      monthlySpendUsd: this.monthlySpend(userId, at),
    }
  }

  monthlySpend(userId: string, at = this.now()): number {
    return this.q.spendSince.get(userId, monthStart(at))?.usd ?? 0
  }

  /** Remembers that `userId` started `sessionId` (counts toward the day, and its spend toward the month). */
  recordStart(userId: string, sessionId: string): void {
    this.q.addStart.run(sessionId, userId, this.now())
  }

  claimStart(userId: string, at: number, admit: (usage: QuotaUsage) => boolean): StartClaim {
    return this.claim(userId, at, admit)
  }

  confirmStart(claimId: string, userId: string, sessionId: string): void {
    this.confirm(claimId, userId, sessionId)
  }

  dropStart(claimId: string): void {
    this.q.drop.run(claimId)
  }
}
