/**
 * The session page's token, also as a cookie scoped to that session's pages, so a reload (the
 * token has left the address bar by then and lives in localStorage, which a navigation does not
 * send) still gets the server-rendered preview (session-preview-load.ts). `Path=/sessions/<id>`:
 * sent only with that session's page requests, never to /api (the API reads Authorization or
 * `?token=` only); `SameSite=Strict`: never on a request another site starts. It grants nothing
 * new: the preview is read through the view with this token's own role rules, and the same
 * token is already in this origin's localStorage. It expires with the token.
 */
export const PAGE_TOKEN_COOKIE = 'tether_page_token'

/** Sets (or with no token clears) the cookie for this session's pages. Browser only. */
export function rememberPageToken(sessionId: string, token: string | undefined, exp: number | undefined): void {
  if (typeof document === 'undefined') return
  const path = `/sessions/${encodeURIComponent(sessionId)}`
  const secure = location.protocol === 'https:' ? '; Secure' : ''
  const left = exp === undefined ? 30 * 24 * 3600 : Math.floor(exp - Date.now() / 1000)
  // A JWT is base64url with dots: cookie-safe as it is; anything else is not kept.
  if (!token || left <= 0 || !/^[A-Za-z0-9._~-]+$/.test(token)) {
    setCookie(`${PAGE_TOKEN_COOKIE}=; Path=${path}; Max-Age=0; SameSite=Strict${secure}`)
    return
  }
  setCookie(`${PAGE_TOKEN_COOKIE}=${token}; Path=${path}; Max-Age=${left}; SameSite=Strict${secure}`)
}

function setCookie(text: string): void {
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser the page supports; the value is checked above
  document.cookie = text
}

/** The cookie's value in a Cookie request header, if any. */
export function pageTokenFromCookies(header: string | null): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const [name, ...rest] = part.trim().split('=')
    if (name === PAGE_TOKEN_COOKIE && rest.length) return rest.join('=') || undefined
  }
  return undefined
}
