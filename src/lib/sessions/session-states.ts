/**
 * Session patterns and statuses as plain constants, without zod: the browser's entry chunk needs
 * them (the home page's search params) and should not carry zod for a list of names.
 * session-types.ts re-exports them beside the request schemas the server validates with.
 */
export const SESSION_PATTERNS = ['ephemeral', 'long-running', 'hybrid', 'single-container'] as const
export type SessionPattern = (typeof SESSION_PATTERNS)[number]

/**
 * active: running. idle: a hybrid session suspended by its idle limit (the agent is stopped,
 * the stream stays open; the next write resumes it). completed / failed / terminated: ended,
 * stream closed.
 */
export const SESSION_STATUSES = ['active', 'idle', 'completed', 'failed', 'terminated'] as const
export type SessionStatus = (typeof SESSION_STATUSES)[number]
export const LIVE_STATUSES: readonly SessionStatus[] = ['active', 'idle']
export const isLiveStatus = (s: SessionStatus): boolean => LIVE_STATUSES.includes(s)
