/**
 * Request rate limits (issue #11; specs/accounts.md, "Quotas and rate limits"): points per window
 * per authenticated identity. On one node they are kept in memory (rate-limiter-flexible's
 * RateLimiterMemory). Nodes sharing a PostgreSQL database share the budgets in its `rate_limits`
 * table (the library's drizzle limiter: one upsert per check), with a per-node memory limiter
 * as insurance while the database cannot be reached. Checked after authentication, before any
 * body is read, on:
 * - `sessions`: every request to the sessions API except the model gateway (`:id/model`, which
 *   spends money and is bounded by budgets and quotas instead);
 * - `writes`: the session writer (`POST /api/streams?sessionId=`) and raw protocol writes
 *   (POST/PUT/DELETE under every streams mount). Reads are not limited.
 *
 * Who is counted: a signed-in person by user id (cookie and personal keys share one budget, so
 * minting keys does not multiply it); any other token by role + session + subject (a share
 * link's tokens, which have no subject, share one budget per session). Workers get their own,
 * larger budget for both classes: they stream every token of an answer and every line of
 * terminal output, and their tokens are minted by this server for one session, so the budget is
 * a guard against a runaway agent, not against people. An admin of all sessions (the local admin
 * link, admin tokens, admin accounts) is not limited: they can change every limit anyway, and
 * operators' scripts and benchmarks use admin tokens. Requests without valid credentials are
 * refused (401) before they are counted.
 */
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { RateLimiterDrizzle, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { rateLimits } from '../db/schema-pg/rate-limits'
import { json } from '../sessions/http'
import { ALL_SESSIONS, type TokenClaims } from '../sessions/tokens'

export type RateClass = 'sessions' | 'writes'

export interface RateLimitConfig {
  /** Length of a window, seconds. */
  windowSeconds: number
  /** Points (requests) per window; 0 = not limited. */
  sessions: number
  writes: number
  /** Workers' budget per window for both classes (0 = not limited). */
  workers: number
}

/** A 429 to answer, or null: the request may go on. */
export type RateCheck = (claims: TokenClaims, cls: RateClass) => Promise<Response | null>

/** The budget's identity for `claims`, or null when they are not limited (admin of all sessions). */
export function rateKeyOf(claims: TokenClaims): string | null {
  if (claims.role === 'admin' && claims.sid === ALL_SESSIONS) return null
  if (claims.account) return `u:${claims.account}`
  return `t:${claims.role}:${claims.sid}:${claims.sub ?? '-'}`
}

/** `shared`: nodes on one PostgreSQL database count every request against one budget there. */
export function createRateLimits(config: RateLimitConfig, shared?: { db: PostgresJsDatabase }): RateCheck {
  const limiter = (points: number, name: string): RateLimiterAbstract | null => {
    if (points <= 0) return null
    const memory = new RateLimiterMemory({ points, duration: config.windowSeconds, keyPrefix: name })
    if (!shared) return memory
    return new RateLimiterDrizzle({
      storeClient: shared.db,
      schema: rateLimits,
      points,
      duration: config.windowSeconds,
      keyPrefix: name,
      insuranceLimiter: memory,
    })
  }
  const limiters: Record<RateClass | 'workers', RateLimiterAbstract | null> = {
    sessions: limiter(config.sessions, 'sessions'),
    writes: limiter(config.writes, 'writes'),
    workers: limiter(config.workers, 'workers'),
  }
  return async (claims, cls) => {
    const key = rateKeyOf(claims)
    if (key === null) return null
    const budget = claims.role === 'worker' ? 'workers' : cls
    const l = limiters[budget]
    if (!l) return null
    try {
      // The class is part of the key: a worker's writes and API calls share one limiter, not one budget.
      await l.consume(`${cls}|${key}`)
      return null
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res
      const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000))
      const points = l.points
      return json(
        {
          ok: false,
          error: `too many requests: at most ${points} ${cls === 'writes' ? 'writes' : 'sessions API requests'} per ${config.windowSeconds} s; retry in ${retryAfter} s`,
          reason: `rate-limit:${cls}`,
          retryAfterSeconds: retryAfter,
        },
        429,
        { 'retry-after': String(retryAfter) },
      )
    }
  }
}
