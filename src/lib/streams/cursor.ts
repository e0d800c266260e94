/**
 * Live-read cursors for CDN collapsing (PROTOCOL §10.1): the number of 20 s intervals since
 * 2024-10-09T00:00:00Z; when a client echoes a cursor at or past the current interval, answer
 * a strictly larger one (1 s–1 h of jitter) so caches never cycle.
 */
export const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9)
export const CURSOR_INTERVAL_MS = 20_000
const MAX_JITTER_SECONDS = 3600

export function currentInterval(nowMs: number = Date.now()): number {
  return Math.floor((nowMs - CURSOR_EPOCH_MS) / CURSOR_INTERVAL_MS)
}

export function responseCursor(
  clientCursor: string | null | undefined,
  nowMs: number = Date.now(),
  random: () => number = Math.random,
): string {
  const current = currentInterval(nowMs)
  if (!clientCursor || !/^\d{1,15}$/.test(clientCursor)) return String(current)
  const client = Number(clientCursor)
  if (client < current) return String(current)
  const jitterSeconds = 1 + Math.floor(random() * MAX_JITTER_SECONDS)
  const jitterIntervals = Math.max(1, Math.ceil((jitterSeconds * 1000) / CURSOR_INTERVAL_MS))
  return String(client + jitterIntervals)
}
