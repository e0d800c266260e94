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
