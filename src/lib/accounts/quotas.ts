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
import { json } from '../sessions/http'
import type { SessionRecord } from '../sessions/session-types'
import type { TokenClaims } from '../sessions/tokens'
import { dayStart, type QuotaLimits, type QuotaName, type QuotaStore } from './quotas-store'

export type QuotaReason = 'quota:concurrent-sessions' | 'quota:sessions-per-day' | 'quota:monthly-spend'

export interface QuotaRefusal {
  status: number
  error: string
  reason: QuotaReason
}

/** A session start let through: commit it with the new session's id, or release it if creation failed. */
export interface QuotaTicket {
  commit(sessionId: string): Promise<void>
  release(): void
}

const NO_TICKET: QuotaTicket = { commit: async () => undefined, release: () => undefined }

/** A person's session starts let through and not yet committed or released. */
interface Flight {
  open: number
  /** Starts ever let through while this entry lived: a check compares it before and after its read. */
  opened: number
  /** Checks reading the store now: the entry stays while any does. */
  readers: number
}

export interface QuotaChecks {
  /** Before creating (or forking) a session: a ticket, or the refusal to answer. */
  beginSession(claims: TokenClaims): Promise<QuotaTicket | Response>
  /** The gateway hook: refuses a model call of a session whose owner is over their monthly spend. */
  refuseCall(session: SessionRecord, agentId: string): Promise<QuotaRefusal | null>
}

const usd = (n: number) => `$${Number(n.toFixed(6))}`

export function createQuotaChecks(opts: {
  store: QuotaStore
  now: () => number
  /** Whether a session's created_by names a person (a token's subject is not one, and is never limited). */
  isPerson(userId: string): boolean | Promise<boolean>
  /** Records a refusal (lifecycle `quota.exceeded`); never throws. */
  onExceeded(userId: string, data: Record<string, unknown>): void
}): QuotaChecks {
  const { store, now } = opts
  // Creations in flight per person: counted with the finished ones, so two concurrent requests
  // cannot both take the last slot. The store's read may be asynchronous (PostgreSQL), so a check
  // counts every start that was in flight at any moment of its read: one that committed meanwhile
  // may be missing from the read's snapshot. (Within this process; across nodes see specs/scale-out.md.)
  const flights = new Map<string, Flight>()
  const flightOf = (userId: string): Flight => {
    let f = flights.get(userId)
    if (!f) flights.set(userId, (f = { open: 0, opened: 0, readers: 0 }))
    return f
  }
  const tidy = (userId: string, f: Flight) => {
    if (f.open === 0 && f.readers === 0 && flights.get(userId) === f) flights.delete(userId)
  }

  const refusal = (userId: string, quota: QuotaName, limit: number, used: number, r: QuotaRefusal, headers: Record<string, string> = {}) => {
    opts.onExceeded(userId, { reason: r.reason, userId, quota, limit, used })
    return json({ ok: false, error: r.error, reason: r.reason, quota: { name: quota, limit, used } }, r.status, headers)
  }

  const spendRefusal = (limits: QuotaLimits, spent: number, status: number): QuotaRefusal | null => {
    const limit = limits.monthlySpendUsd
    if (limit === null || spent < limit) return null
    return {
      status,
      reason: 'quota:monthly-spend',
      error: `monthly spend quota reached: ${usd(spent)} of ${usd(limit)} this month (UTC); it resets on the 1st, or an admin can raise it`,
    }
  }

  return {
    async beginSession(claims) {
      const userId = claims.account
      if (!userId) return NO_TICKET
      const at = now()
      const f = flightOf(userId)
      const openAtStart = f.open
      const openedAtStart = f.opened
      f.readers++
      let limits: QuotaLimits
      let usage: Awaited<ReturnType<QuotaStore['usageOf']>>
      try {
        ;[limits, usage] = await Promise.all([store.limitsOf(userId), store.usageOf(userId, at)])
      } finally {
        f.readers--
      }
      const inFlight = openAtStart + (f.opened - openedAtStart)
      const refuse = (...args: Parameters<typeof refusal>) => {
        tidy(userId, f)
        return refusal(...args)
      }
      const live = usage.concurrentSessions + inFlight
      if (limits.concurrentSessions !== null && live >= limits.concurrentSessions) {
        const n = limits.concurrentSessions
        return refuse(userId, 'concurrentSessions', n, live, {
          status: 403,
          reason: 'quota:concurrent-sessions',
          error: `concurrent sessions quota reached: ${live} of ${n} running; end one of your sessions to start another`,
        })
      }
      const today = usage.sessionsPerDay + inFlight
      if (limits.sessionsPerDay !== null && today >= limits.sessionsPerDay) {
        const n = limits.sessionsPerDay
        const retryAfter = Math.max(1, Math.ceil((dayStart(at) + 86_400_000 - at) / 1000))
        return refuse(
          userId,
          'sessionsPerDay',
          n,
          today,
          { status: 429, reason: 'quota:sessions-per-day', error: `daily sessions quota reached: ${today} of ${n} started today (UTC); try again after 00:00 UTC` },
          { 'retry-after': String(retryAfter) },
        )
      }
      const spend = spendRefusal(limits, usage.monthlySpendUsd, 403)
      if (spend) return refuse(userId, 'monthlySpendUsd', limits.monthlySpendUsd ?? 0, usage.monthlySpendUsd, spend)
      f.open++
      f.opened++
      let open = true
      const done = () => {
        if (!open) return
        open = false
        f.open--
        tidy(userId, f)
      }
      return {
        // In flight until the start is recorded: a check meanwhile still counts it.
        async commit(sessionId) {
          try {
            if (open) await store.recordStart(userId, sessionId)
          } finally {
            done()
          }
        },
        release: done,
      }
    },
    async refuseCall(session) {
      const owner = session.createdBy
      if (!owner || !(await opts.isPerson(owner))) return null
      const limits = await store.limitsOf(owner)
      if (limits.monthlySpendUsd === null) return null
      return spendRefusal(limits, await store.monthlySpend(owner), 402)
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
    ticket.release()
    throw err
  }
  const id = res.status === 201 ? res.headers.get('location')?.split('/').pop() : undefined
  if (id) await ticket.commit(decodeURIComponent(id))
  else ticket.release()
  return res
}
