/**
 * GET /api/sessions/:id/view: the session's newest state in one small answer, so the session page
 * opens from it and reads the live stream only from its offset (specs/ui.md, "Opening a session").
 *   ?limit=N            newest N messages (1..1000, default 200), with everything else current
 *   ?before=<messageId> the N finished messages before that one (scrolling up), with their turns
 *   ?terminalBefore=<lineId>  the terminal scroll-back window before that line
 * → { offset, events, olderBefore, terminalBefore } (events: State Protocol change events).
 * Roles: whoever may read the session's stream (viewer, collaborator, worker, admin).
 *
 * Views are kept in memory per session (the last few opened) and brought up to date by reading
 * only what was appended since the view's offset, so an open costs a short read, not a replay.
 * A view not held opens from the session's checkpoint (session-views.ts); older pages and heads
 * over CHECKPOINT_MESSAGES read the stream whole once.
 */
import { requireSession } from './auth'
import { HttpError, json } from './http'
import { CHECKPOINT_MESSAGES, DEFAULT_VIEW_MESSAGES, MAX_VIEW_MESSAGES, type SessionViewState, type ViewPage } from './session-view'
import type { SessionViews } from './session-views'
import { StreamNotFoundError } from './streams-client'
import type { TokenClaims } from './tokens'

const ANY_SESSION_ROLE = ['viewer', 'collaborator', 'worker', 'admin'] as const

function limitOf(url: URL): number {
  const raw = url.searchParams.get('limit')
  if (raw === null) return DEFAULT_VIEW_MESSAGES
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > MAX_VIEW_MESSAGES) throw new HttpError(400, `limit must be an integer from 1 to ${MAX_VIEW_MESSAGES}`, 'query.limit')
  return n
}

/** Answers GET :id/view; undefined for any other action. The session's existence is checked by the caller. */
export async function sessionViewRoute(views: SessionViews, req: Request, claims: TokenClaims, id: string, action: string): Promise<Response | undefined> {
  if (action !== 'view') return undefined
  if (req.method !== 'GET') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'GET' })
  requireSession(claims, id, ANY_SESSION_ROLE)
  const url = new URL(req.url)
  const limit = limitOf(url)
  const before = url.searchParams.get('before')
  const terminalBefore = url.searchParams.get('terminalBefore')
  if (before !== null && terminalBefore !== null) throw new HttpError(400, 'ask for older messages or earlier terminal output, not both', 'query')
  let state: SessionViewState
  try {
    state = await views.current(id, { complete: before !== null || terminalBefore !== null || limit > CHECKPOINT_MESSAGES })
  } catch (err) {
    if (err instanceof StreamNotFoundError) throw new HttpError(404, `session ${id} has no stream`, 'id')
    throw err
  }
  let page: ViewPage | null
  if (before !== null) {
    page = state.older(before, limit)
    if (!page) throw new HttpError(404, `no message ${before} in this session`, 'query.before')
  } else if (terminalBefore !== null) {
    page = state.terminalBefore(terminalBefore)
    if (!page) throw new HttpError(404, `no terminal line ${terminalBefore} in this session`, 'query.terminalBefore')
  } else page = state.head(limit)
  // Session content: never stored by a shared cache.
  return json({ offset: state.offset, ...page }, 200, { 'cache-control': 'private, no-store' })
}
