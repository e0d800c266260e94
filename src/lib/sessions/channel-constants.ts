/**
 * The channel constants the browser's session page uses, without zod: the page reads and writes
 * channel values but the server validates them (channel-schemas.ts, which re-exports these), so
 * the page's scripts need not carry a schema library (specs/ui.md).
 */
export const PRESENCE_HEARTBEAT_MS = 10_000
export const PRESENCE_GONE_AFTER_MS = 30_000

export function isPresenceGone(p: { lastSeen: number }, now: number, goneAfterMs = PRESENCE_GONE_AFTER_MS): boolean {
  return now - p.lastSeen > goneAfterMs
}

export const TURN_STATUSES = ['accepted', 'streaming', 'tool', 'done', 'cancelled', 'failed', 'interrupted'] as const
export type TurnStatus = (typeof TURN_STATUSES)[number]
/** A turn in one of these has ended; `interrupted` has not (the restarted worker resumes it). */
export const FINAL_TURN_STATUSES: readonly TurnStatus[] = ['done', 'cancelled', 'failed']
