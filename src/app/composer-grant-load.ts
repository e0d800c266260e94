/**
 * The session page's loader half for the composer (composer-form.ts): on the server, whether the
 * page request's own credentials may send messages, so the server-rendered form is enabled for
 * the same people the live composer is (use-session-token.ts's `canWrite`: an admin, or a
 * collaborator with a user; and the session live) and disabled with the reason for the others.
 * In the browser (a navigation inside the app) null: the live composer decides alone there.
 */
import { createIsomorphicFn } from '@tanstack/react-start'
import { getRequest } from '@tanstack/react-start/server'
import { getTetherServer } from '../lib/tether-server-entry'
import { SESSIONS_MOUNT } from '../lib/common/session-contract'
import { coversSession, type TokenClaims } from '../lib/sessions/tokens'
import type { ComposerGrant } from './composer-form'
import { pageTokenFromCookies } from './page-token-cookie'

/** Statuses in which the live page keeps its composer (use-session-page.ts's `ended`). */
const OPEN_STATUSES = ['active', 'idle']

/** Why a token that may read may not send (the placeholder the live page shows for it). */
function refusal(claims: TokenClaims): string {
  // A share link's token is exchanged for a personal one once the page's script runs.
  if (claims.role === 'collaborator' && !claims.sub) return 'Joining the session…'
  return 'Read-only'
}

// Every value imported above is used only in here: the server-only branch below, which Start's
// compiler drops from the browser's bundle together with those imports (tokens.ts would pull zod in).
async function serverGrant(sessionId: string): Promise<ComposerGrant> {
  const messageId = crypto.randomUUID()
  const page = getRequest()
  const pageUrl = new URL(page.url)
  // The page's own token, as session-preview-load.ts reads it; a sign-in cookie otherwise.
  const token = pageUrl.searchParams.get('token') ?? pageTokenFromCookies(page.headers.get('cookie'))
  const headers = new Headers()
  if (token) headers.set('authorization', `Bearer ${token}`)
  else {
    const cookie = page.headers.get('cookie')
    if (cookie) headers.set('cookie', cookie)
  }
  const app = await getTetherServer()
  let claims: TokenClaims
  try {
    claims = await app.auth.authenticate(new Request(new URL(`${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}`, pageUrl), { headers }))
  } catch {
    // No credential the server takes (the page may still hold one in localStorage): the live page decides.
    return { canSend: false, reason: token ? 'This link is not valid' : 'Connecting…', messageId }
  }
  // The live page's canWrite: an admin, or a collaborator with a user (the writer's rules decide a POST).
  const maySend = coversSession(claims, sessionId) && (claims.role === 'admin' || (claims.role === 'collaborator' && Boolean(claims.sub)))
  if (!maySend) return { canSend: false, reason: refusal(claims), messageId }
  const session = await app.manager.get(sessionId).catch(() => null)
  if (!session) return { canSend: false, reason: 'Connecting…', messageId }
  if (!OPEN_STATUSES.includes(session.status)) return { canSend: false, reason: 'The session has ended', messageId }
  return { canSend: true, ...(token ? { token } : {}), messageId }
}

export const loadComposerGrant = createIsomorphicFn()
  .server((sessionId: string): Promise<ComposerGrant | null> => serverGrant(sessionId).catch(() => null))
  .client((_sessionId: string): Promise<ComposerGrant | null> => Promise.resolve(null))
