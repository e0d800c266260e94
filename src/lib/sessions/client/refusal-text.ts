/**
 * A quota or rate-limit refusal (specs/accounts.md, "Quotas and rate limits") in words for the
 * page: the server's `reason` code picks the lead, its `error` text says the numbers. Any other
 * refusal keeps the server's text as it is.
 */
const LEADS: Record<string, string> = {
  'quota:concurrent-sessions': 'You have reached your limit of running sessions',
  'quota:sessions-per-day': 'You have started as many sessions as you may today',
  'quota:monthly-spend': 'You have reached your model spending limit for this month',
  'rate-limit:sessions': 'Too many requests in a short time',
  'rate-limit:writes': 'Too many writes in a short time',
}

export function refusalText(reason: unknown, error: string, retryAfterSeconds?: number | null): string {
  if (typeof reason !== 'string' || !(reason in LEADS)) return error
  const wait = retryAfterSeconds ? ` Try again in ${retryAfterSeconds < 120 ? `${retryAfterSeconds} s` : `${Math.ceil(retryAfterSeconds / 3600)} h`}.` : ''
  return `${LEADS[reason]} (${error}).${wait}`
}
