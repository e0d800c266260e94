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
 * The first open after a start reads the stream once.
 */
import { requireSession } from './auth'
import { HttpError, json } from './http'
import { DEFAULT_VIEW_MESSAGES, MAX_VIEW_MESSAGES, SessionViewState, type ViewPage } from './session-view'
import { readJsonToTail, StreamNotFoundError, type StreamsEndpoint } from './streams-client'
import { sessionStreamPath } from './session-types'
import type { TokenClaims } from './tokens'

/** Views kept (least recently opened dropped first): each holds its session's current rows. */
const KEPT_VIEWS = 16
/**
 * And at most this many rows in all (a compacted 10,000-message session is ~27,000; an uncompacted
 * one ten times that): the one just read is always kept.
 */
const KEPT_ROWS = 1_000_000

interface Entry {
  state: SessionViewState
  queue: Promise<unknown>
}

export class SessionViews {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly kept = KEPT_VIEWS,
  ) {}

  /** The session's view, current to the stream's tail (one read of what is new). */
  current(sessionId: string): Promise<SessionViewState> {
    let entry = this.entries.get(sessionId)
    if (entry) this.entries.delete(sessionId)
    else entry = { state: new SessionViewState(), queue: Promise.resolve() }
    this.entries.set(sessionId, entry) // most recently used last
    for (const id of this.entries.keys()) {
      if (this.entries.size <= this.kept) break
      this.entries.delete(id)
    }
    const held = entry
    const run = held.queue.then(async () => {
      const read = await readJsonToTail(this.endpoint, sessionStreamPath(sessionId), held.state.offset)
      held.state.apply(read.messages, read.nextOffset)
      this.trim(held)
      return held.state
    })
    held.queue = run.catch(() => undefined)
    return run
  }

  private trim(keep: Entry): void {
    let rows = 0
    for (const e of this.entries.values()) rows += e.state.size
    for (const [id, e] of this.entries) {
      if (rows <= KEPT_ROWS) break
      if (e === keep) continue
      rows -= e.state.size
      this.entries.delete(id)
    }
  }

  /** A deleted session's view goes with it. */
  forget(sessionId: string): void {
    this.entries.delete(sessionId)
  }
}

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
    state = await views.current(id)
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
