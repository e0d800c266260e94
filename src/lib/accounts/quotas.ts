/**
 * Per-user quotas enforced (issue #11; specs/accounts.md, "Quotas and rate limits"). They apply to
 * accounts (sign-in cookie, personal keys): the local admin link and tokens are not a person and
 * are never limited. Admin accounts have quotas too (defaults apply to everyone; an admin lifts
 * their own with PUT /api/users/:id/quotas).
 *
 * Status codes, chosen by what the person can do about it:
 * - `quota:concurrent-sessions` → 403: waiting does not help, ending one of their sessions does;
 * - `quota:sessions-per-day` → 429 with Retry-After (seconds to 00:00 UTC): waiting helps;
 * - `quota:monthly-spend` → 403 for a new session, 402 for a model call (like the session budget's
 *   refusals, which workers already report as a limit): it lasts until the 1st of next month, too
 *   long for any client's automatic retry, so no Retry-After.
 * Each refusal is recorded as a `quota.exceeded` lifecycle event (model-call refusals by the
 * gateway's watcher, ops/operations.ts, which records every 402 it answers).
 */
import type { SpendLimit } from '../gateway/core'
import { json } from '../sessions/http'
import type { SessionRecord } from '../sessions/session-types'
import type { TokenClaims } from '../sessions/tokens'
import { dayStart, monthStart, type QuotaLimits, type QuotaName, type QuotaStore, type QuotaUsage } from './quotas-store'

export type QuotaReason = 'quota:concurrent-sessions' | 'quota:sessions-per-day' | 'quota:monthly-spend'

export interface QuotaRefusal {
  status: number
  error: string
  reason: QuotaReason
}

/** A session start let through: commit it with the new session's id, or release it if creation failed. */
export interface QuotaTicket {
  commit(sessionId: string): Promise<void>
  release(): Promise<void>
}

const NO_TICKET: QuotaTicket = { commit: async () => undefined, release: async () => undefined }

export interface QuotaChecks {
  /** Before creating (or forking) a session: a ticket, or the refusal to answer. */
  beginSession(claims: TokenClaims): Promise<QuotaTicket | Response>
  /**
   * The gateway hook: the session owner's monthly spend limit, which the ledger checks in the same
   * atomic step as each model call's reservation (null: not a person, or no limit).
   */
  spendLimit(session: SessionRecord): Promise<SpendLimit | null>
}

const usd = (n: number) => `$${Number(n.toFixed(6))}`

function spendRefusal(limits: QuotaLimits, spent: number, status: number): QuotaRefusal | null {
  const limit = limits.monthlySpendUsd
  if (limit === null || spent < limit) return null
  return spendReached(limit, spent, status)
}

function spendReached(limit: number, spent: number, status: number): QuotaRefusal {
  return {
    status,
    reason: 'quota:monthly-spend',
    error: `monthly spend quota reached: ${usd(spent)} of ${usd(limit)} this month (UTC); it resets on the 1st, or an admin can raise it`,
  }
}

/** The quota a session start would pass, with the numbers the refusal says. */
interface OverQuota {
  quota: QuotaName
  limit: number
  used: number
  refusal: QuotaRefusal
  headers?: Record<string, string>
}

/** Pure: the first quota a start at `usage` would pass (concurrent, then daily, then spend), or null. */
function overQuota(limits: QuotaLimits, usage: QuotaUsage, at: number): OverQuota | null {
  const live = usage.concurrentSessions
  if (limits.concurrentSessions !== null && live >= limits.concurrentSessions) {
    const n = limits.concurrentSessions
    return {
      quota: 'concurrentSessions',
      limit: n,
      used: live,
      refusal: {
        status: 403,
        reason: 'quota:concurrent-sessions',
        error: `concurrent sessions quota reached: ${live} of ${n} running; end one of your sessions to start another`,
      },
    }
  }
  const today = usage.sessionsPerDay
  if (limits.sessionsPerDay !== null && today >= limits.sessionsPerDay) {
    const n = limits.sessionsPerDay
    const retryAfter = Math.max(1, Math.ceil((dayStart(at) + 86_400_000 - at) / 1000))
    return {
      quota: 'sessionsPerDay',
      limit: n,
      used: today,
      refusal: {
        status: 429,
        reason: 'quota:sessions-per-day',
        error: `daily sessions quota reached: ${today} of ${n} started today (UTC); try again after 00:00 UTC`,
      },
      headers: { 'retry-after': String(retryAfter) },
    }
  }
  const spend = spendRefusal(limits, usage.monthlySpendUsd, 403)
  return spend ? { quota: 'monthlySpendUsd', limit: limits.monthlySpendUsd ?? 0, used: usage.monthlySpendUsd, refusal: spend } : null
}

export function createQuotaChecks(opts: {
  store: QuotaStore
  now: () => number
  /** Whether a session's created_by names a person (a token's subject is not one, and is never limited). */
  isPerson(userId: string): boolean | Promise<boolean>
  /** Records a refusal (lifecycle `quota.exceeded`); never throws. */
  onExceeded(userId: string, data: Record<string, unknown>): void
}): QuotaChecks {
  const { store, now } = opts

  const refusal = (userId: string, quota: QuotaName, limit: number, used: number, r: QuotaRefusal, headers: Record<string, string> = {}) => {
    opts.onExceeded(userId, { reason: r.reason, userId, quota, limit, used })
    return json({ ok: false, error: r.error, reason: r.reason, quota: { name: quota, limit, used } }, r.status, headers)
  }

  return {
    // Check and claim are one atomic step in the store (claimStart), across nodes too: a start in
    // flight is a claim row counted by every later check until it is confirmed or dropped, so
    // two concurrent requests cannot both take the last slot.
    async beginSession(claims) {
      const userId = claims.account
      if (!userId) return NO_TICKET
      const at = now()
      const limits = await store.limitsOf(userId)
      const claim = await store.claimStart(userId, at, (usage) => overQuota(limits, usage, at) === null)
      const claimId = claim.claimId
      if (claimId === null) {
        // The usage the store's check saw: the same (pure) decision, now said and recorded.
        const over = overQuota(limits, claim.usage, at)
        if (!over) throw new Error('the quota store refused a start that no quota refuses')
        return refusal(userId, over.quota, over.limit, over.used, over.refusal, over.headers)
      }
      let open = true
      return {
        async commit(sessionId) {
          if (!open) return
          open = false
          await store.confirmStart(claimId, userId, sessionId)
        },
        async release() {
          if (!open) return
          open = false
          await store.dropStart(claimId)
        },
      }
    },
    async spendLimit(session) {
      const owner = session.createdBy
      if (!owner || !(await opts.isPerson(owner))) return null
      const limits = await store.limitsOf(owner)
      const limitUsd = limits.monthlySpendUsd
      if (limitUsd === null) return null
      return {
        userId: owner,
        limitUsd,
        sinceMs: monthStart(now()),
        refusal: (spent) => spendReached(limitUsd, spent, 402),
      }
    },
  }
}

/**
 * Runs a session start (create, fork) under the quota: refused before it runs, counted once it
 * answered 201 (the new session's id is the last segment of its Location), released otherwise.
 */
export async function startUnderQuota(checks: QuotaChecks | undefined, claims: TokenClaims, start: () => Promise<Response>): Promise<Response> {
  const ticket = checks ? await checks.beginSession(claims) : NO_TICKET
  if (ticket instanceof Response) return ticket
  let res: Response
  try {
    res = await start()
  } catch (err) {
    await ticket.release()
    throw err
  }
  const id = res.status === 201 ? res.headers.get('location')?.split('/').pop() : undefined
  if (id) await ticket.commit(decodeURIComponent(id))
  else await ticket.release()
  return res
}
