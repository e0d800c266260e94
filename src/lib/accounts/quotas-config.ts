/** Quota defaults and rate limits from the parsed environment (src/lib/settings; specs/accounts.md). */
import type { RateLimitConfig } from '../ops/rate-limit'
import type { QuotaLimits } from './quotas-store'

export interface LimitsEnv {
  TETHER_QUOTA_CONCURRENT_SESSIONS?: number
  TETHER_QUOTA_SESSIONS_PER_DAY?: number
  TETHER_QUOTA_MONTHLY_SPEND_USD?: number
  TETHER_RATE_LIMIT_WINDOW_SECONDS: number
  TETHER_RATE_LIMIT_SESSIONS: number
  TETHER_RATE_LIMIT_WRITES: number
  TETHER_RATE_LIMIT_WORKER: number
}

export interface LimitsConfig {
  /** Per-person quota defaults (null = unlimited); admins override them per person. */
  quotas: QuotaLimits
  rateLimits: RateLimitConfig
}

// Unset or 0 = no limit, as for the session limits (TETHER_SESSION_MAX_*).
const limit = (v: number | undefined) => (v === undefined || v === 0 ? null : v)

export function limitsConfigFrom(e: LimitsEnv): LimitsConfig {
  return {
    quotas: {
      concurrentSessions: limit(e.TETHER_QUOTA_CONCURRENT_SESSIONS),
      sessionsPerDay: limit(e.TETHER_QUOTA_SESSIONS_PER_DAY),
      monthlySpendUsd: limit(e.TETHER_QUOTA_MONTHLY_SPEND_USD),
    },
    rateLimits: {
      windowSeconds: Math.max(1, e.TETHER_RATE_LIMIT_WINDOW_SECONDS),
      sessions: e.TETHER_RATE_LIMIT_SESSIONS,
      writes: e.TETHER_RATE_LIMIT_WRITES,
      workers: e.TETHER_RATE_LIMIT_WORKER,
    },
  }
}

/** What an app built without settings (tests) gets: no quotas, the documented rate limits. */
export const DEFAULT_LIMITS: LimitsConfig = {
  quotas: { concurrentSessions: null, sessionsPerDay: null, monthlySpendUsd: null },
  rateLimits: { windowSeconds: 60, sessions: 600, writes: 3000, workers: 30_000 },
}
