/**
 * The sessions REST API (`/api/sessions/**`) from the browser, with the page's token as a bearer
 * token. Errors become ApiError with the server's reason.
 */
import { SESSIONS_MOUNT, sessionApiPath } from '../../common/session-contract'
import type { CreateSessionInput, SessionPattern, SessionRecord, SessionStats, SessionStatus } from '../session-types'
import { authHeaders } from './auth'
import { refusalText } from './refusal-text'

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** One API request: JSON in and out, the server's reason (`error`, else `message`) in an ApiError on failure. */
export async function call<T>(path: string, token: string | undefined, init: RequestInit = {}): Promise<T> {
  let response: Response
  try {
    response = await fetch(path, {
      ...init,
      headers: {
        ...(init.body ? { 'content-type': 'application/json' } : {}),
        ...authHeaders(token),
        ...(init.headers as Record<string, string> | undefined),
      },
    })
  } catch (err) {
    throw new ApiError(`could not reach the server (${err instanceof Error ? err.message : String(err)})`, 0)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const b = body && typeof body === 'object' ? (body as { error?: unknown; message?: unknown; reason?: unknown }) : undefined
    const reason = b && (b.error ?? b.message) !== undefined ? String(b.error ?? b.message) : text.trim() || response.statusText
    // A quota or rate limit (its `reason` code) reads as words, with how long to wait when waiting helps.
    const wait = Number(response.headers.get('retry-after')) || null
    throw new ApiError(refusalText(b?.reason, reason || `request failed (${response.status})`, wait), response.status)
  }
  return body as T
}

export interface SessionListQuery {
  status?: SessionStatus
  pattern?: SessionPattern
  limit?: number
  cursor?: string
}

export interface SessionPage {
  sessions: SessionRecord[]
  nextCursor: string | null
}

function unwrapRecord(body: unknown): SessionRecord {
  if (body && typeof body === 'object' && 'session' in body) return (body as { session: SessionRecord }).session
  return body as SessionRecord
}

export async function listSessions(token: string | undefined, query: SessionListQuery = {}): Promise<SessionPage> {
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v))
  const body = await call<unknown>(`${SESSIONS_MOUNT}${params.size ? `?${params}` : ''}`, token)
  if (Array.isArray(body)) return { sessions: body as SessionRecord[], nextCursor: null }
  const b = body as { sessions?: SessionRecord[]; items?: SessionRecord[]; nextCursor?: string | null; cursor?: string | null }
  return { sessions: b.sessions ?? b.items ?? [], nextCursor: b.nextCursor ?? b.cursor ?? null }
}

export async function getSession(token: string | undefined, sessionId: string): Promise<SessionRecord> {
  return unwrapRecord(await call<unknown>(sessionApiPath(sessionId), token))
}

export async function getStats(token: string | undefined): Promise<SessionStats> {
  const body = await call<unknown>(`${SESSIONS_MOUNT}/stats`, token)
  return (body && typeof body === 'object' && 'stats' in body ? (body as { stats: SessionStats }).stats : body) as SessionStats
}

export interface CreatedSession {
  session: SessionRecord
  /** a collaborator token for the share link, when the server hands one out */
  shareToken?: string
  shareUrl?: string
}

export async function createSession(token: string | undefined, input: CreateSessionInput): Promise<CreatedSession> {
  const body = await call<Record<string, unknown>>(SESSIONS_MOUNT, token, { method: 'POST', body: JSON.stringify(input) })
  return {
    session: unwrapRecord(body),
    shareToken: pickString(body, ['shareToken', 'collaboratorToken']) ?? pickString(body.tokens, ['collaborator', 'share']),
    shareUrl: pickString(body, ['shareUrl', 'shareLink']),
  }
}

export async function terminateSession(token: string | undefined, sessionId: string, reason?: string): Promise<SessionRecord> {
  return unwrapRecord(
    await call<unknown>(sessionApiPath(sessionId, 'terminate'), token, { method: 'POST', body: JSON.stringify(reason ? { reason } : {}) }),
  )
}

/** Exchanges a share-link token for a personal collaborator token with its own user id. */
export async function joinSession(
  token: string | undefined,
  sessionId: string,
  displayName?: string,
): Promise<{ token: string; userId?: string }> {
  const body = await call<Record<string, unknown>>(sessionApiPath(sessionId, 'join'), token, {
    method: 'POST',
    body: JSON.stringify(displayName ? { displayName } : {}),
  })
  const personal = pickString(body, ['token'])
  if (!personal) throw new ApiError('the server did not return a token', 500)
  return { token: personal, userId: pickString(body, ['userId', 'subject']) }
}

function pickString(source: unknown, keys: string[]): string | undefined {
  if (!source || typeof source !== 'object') return undefined
  for (const key of keys) {
    const v = (source as Record<string, unknown>)[key]
    if (typeof v === 'string' && v) return v
  }
  return undefined
}
