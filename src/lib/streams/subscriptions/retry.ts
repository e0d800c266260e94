/** Webhook retry schedule (PROTOCOL.md 7.1): exponential from 1 s, capped at 60 s, ±20 % jitter. */

const FIRST_DELAY_MS = 1_000
const MAX_DELAY_MS = 60_000
const JITTER = 0.2

/** Delay before retry number `attempt` (1-based). `random` returns [0, 1). */
export function retryDelayMs(attempt: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30))
  const base = Math.min(FIRST_DELAY_MS * 2 ** exponent, MAX_DELAY_MS)
  const jittered = base * (1 + JITTER * (2 * random() - 1))
  return Math.round(Math.min(jittered, MAX_DELAY_MS))
}
