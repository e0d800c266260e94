/**
 * Reconnect delays: exponential, capped, with "equal jitter" (half fixed, half random) so a crowd
 * of clients that lost the same server spreads out, yet every client can still show a useful
 * "next retry at" time (full jitter would often say "now").
 */
export interface BackoffPolicy {
  /** delay before the first retry, ms */
  initialMs: number
  /** no delay is longer than this, ms */
  maxMs: number
  /** growth per failed attempt */
  multiplier: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, multiplier: 2 }

/** Delay before retry number `attempt` (1 = first retry). `random` returns [0, 1). */
export function retryDelayMs(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1)
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** exponent)
  return Math.round(ceiling / 2 + random() * (ceiling / 2))
}

/** Longest Retry-After honoured: a longer wait is the server saying "not today" (a quota), not "slow down". */
export const MAX_RETRY_AFTER_MS = 120_000

/**
 * The wait a 429 (or 503) asks for in `Retry-After`, ms: delta-seconds or an HTTP date; null when
 * absent, unreadable or longer than MAX_RETRY_AFTER_MS. A rate limit's budget refills at the end
 * of its window, so retrying sooner only spends another refusal.
 */
export function retryAfterMs(response: Response, now: number = Date.now()): number | null {
  const value = response.headers.get('retry-after')?.trim()
  if (!value) return null
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_RETRY_AFTER_MS) return null
  return ms
}
