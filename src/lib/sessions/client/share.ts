/**
 * Share links. A share token (a collaborator token without a user) is handed to whoever creates a
 * session, and to anyone who asks `GET /api/sessions/:id/share` with a right to share (admins and
 * the session's collaborators); this browser keeps the last one it got so the "Share" button
 * works without asking again. Viewers and workers may not share (the server answers 403).
 */
import { sessionApiPath } from '../../common/session-contract'
import { authHeaders, type TokenInfo } from './auth'

const key = (sessionId: string) => `tether.share.${sessionId}`

export function rememberShareToken(sessionId: string, token: string): void {
  try {
    localStorage.setItem(key(sessionId), token)
  } catch {
    // storage unavailable: the link is only shown at creation
  }
}

export function rememberedShareToken(sessionId: string): string | undefined {
  try {
    return localStorage.getItem(key(sessionId)) ?? undefined
  } catch {
    return undefined
  }
}

/**
 * Why this token may not share the session, or undefined when it may (the same rule as the
 * server's share endpoint: admin, collaborator with or without a user; no token = auth off).
 */
export function shareRefusal(info: TokenInfo | undefined, hasToken: boolean): string | undefined {
  if (!hasToken) return undefined
  if (!info) return undefined // unreadable here: let the server judge when the dialog asks
  if (info.role === 'admin' || info.role === 'collaborator') return undefined
  if (info.role === 'viewer') return 'You are watching this session with a view link: only its collaborators and admins can share it.'
  return `A ${info.role} token cannot share this session.`
}

/** Asks the server for a fresh share token (`GET /api/sessions/:id/share`); throws with its reason. */
export async function fetchShareToken(sessionId: string, token: string, fetchImpl: typeof fetch = (i, o) => fetch(i, o)): Promise<string> {
  let res: Response
  try {
    res = await fetchImpl(sessionApiPath(sessionId, 'share'), { headers: authHeaders(token) })
  } catch (err) {
    throw new Error(`could not reach the server (${err instanceof Error ? err.message : String(err)})`)
  }
  const body = (await res.json().catch(() => ({}))) as { shareToken?: unknown; error?: unknown }
  if (!res.ok) throw new Error(typeof body.error === 'string' ? body.error : `the server answered ${res.status}`)
  if (typeof body.shareToken !== 'string') throw new Error('the server did not return a share token')
  return body.shareToken
}
