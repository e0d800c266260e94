/**
 * The session page's loader: on the server (the page's first HTML), the preview of the session
 * (session-preview.ts) as the page's own request may read it; in the browser (a navigation inside
 * the app) nothing, because the page opens from the view itself there.
 *
 * Access: the preview is read through GET /api/sessions/:id/view with the page request's own
 * credentials (its `?token=`, sign-in cookie, Authorization header or the page's own token cookie,
 * page-token-cookie.ts), so the view's role rules
 * decide (specs/security.md): a request the view refuses (no token, another session's, expired)
 * gets a page without a preview, exactly as before. Nothing else of the request is passed on.
 */
import { createIsomorphicFn } from '@tanstack/react-start'
import { getRequest } from '@tanstack/react-start/server'
import { handleTetherRequest } from '../lib/tether-server-entry'
import { SESSIONS_MOUNT } from '../lib/common/session-contract'
import { PREVIEW_MESSAGES, previewOf, type SessionPreview } from './session-preview'
import { pageTokenFromCookies } from './page-token-cookie'

/**
 * A view not ready by then is left out of the HTML: the first open of a long uncompacted session
 * after a restart reads its whole stream, and the page (whose boot script asks for the same view)
 * should not wait for that before it gets any HTML at all.
 */
const PREVIEW_WAIT_MS = 1_500

async function serverPreview(sessionId: string): Promise<SessionPreview | null> {
  const page = getRequest()
  const url = new URL(`${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}/view`, page.url)
  url.searchParams.set('limit', String(PREVIEW_MESSAGES))
  const token = new URL(page.url).searchParams.get('token')
  if (token) url.searchParams.set('token', token)
  const headers = new Headers()
  for (const name of ['cookie', 'authorization']) {
    const value = page.headers.get(name)
    if (value) headers.set(name, value)
  }
  // After a reload the token is no longer in the address: the page's own cookie (page-token-cookie.ts).
  const remembered = pageTokenFromCookies(page.headers.get('cookie'))
  if (!token && !headers.has('authorization') && remembered) headers.set('authorization', `Bearer ${remembered}`)
  const controller = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      controller.abort()
      resolve(null)
    }, PREVIEW_WAIT_MS)
  })
  const read = (async () => {
    const res = await handleTetherRequest(new Request(url, { headers, signal: controller.signal }))
    if (!res.ok) return null
    const body = (await res.json()) as { events?: unknown }
    return Array.isArray(body.events) ? previewOf(body.events) : null
  })().catch(() => null)
  try {
    return await Promise.race([read, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const loadSessionPreview = createIsomorphicFn()
  .server((sessionId: string): Promise<SessionPreview | null> => serverPreview(sessionId))
  .client((_sessionId: string): Promise<SessionPreview | null> => Promise.resolve(null))
