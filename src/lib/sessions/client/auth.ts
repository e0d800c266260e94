/**
 * Tokens in the browser. Links carry a token in `?token=` (share and view links) or a one-time
 * login code in `?code=` (the admin link, exchanged for a token); the page remembers the token
 * (localStorage, per session, and the admin token for everything), then takes both out of the
 * address bar so they don't stay in history, screenshots or a Referer. It sends the token as
 * `Authorization: Bearer` on API calls and stream reads. The payload is decoded only to know the
 * role, the session and who we are; the server is what checks the signature.
 */
export interface TokenInfo {
  role: 'viewer' | 'collaborator' | 'worker' | 'admin'
  sid: string
  sub?: string
  name?: string
  exp?: number
}

const ADMIN_KEY = 'tether.token.admin'
/** exported for the session page's boot script (session-view.ts), which reads them before any module loads */
export const TOKEN_STORAGE_KEYS = { admin: ADMIN_KEY, sessionPrefix: 'tether.token.session.' } as const
const sessionKey = (sessionId: string) => `${TOKEN_STORAGE_KEYS.sessionPrefix}${sessionId}`

function base64UrlDecode(text: string): string {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4)
  const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))
  return new TextDecoder().decode(bytes)
}

export function decodeToken(token: string | undefined): TokenInfo | undefined {
  if (!token) return undefined
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1])) as Record<string, unknown>
    if (typeof payload.role !== 'string' || typeof payload.sid !== 'string') return undefined
    return {
      role: payload.role as TokenInfo['role'],
      sid: payload.sid,
      ...(typeof payload.sub === 'string' ? { sub: payload.sub } : {}),
      ...(typeof payload.name === 'string' ? { name: payload.name } : {}),
      ...(typeof payload.exp === 'number' ? { exp: payload.exp } : {}),
    }
  } catch {
    return undefined
  }
}

function storage(): Storage | undefined {
  try {
    return typeof localStorage === 'undefined' ? undefined : localStorage
  } catch {
    return undefined
  }
}

function isExpired(info: TokenInfo | undefined): boolean {
  return info?.exp !== undefined && info.exp * 1000 < Date.now()
}

/**
 * Remembers a token from a link, under the session it is for (or as the admin token). False when
 * it could not be kept (unreadable token, no storage): then the link must stay in the address bar.
 */
export function rememberToken(token: string): boolean {
  const info = decodeToken(token)
  const store = storage()
  if (!info || !store) return false
  try {
    if (info.role === 'admin' && info.sid === '*') store.setItem(ADMIN_KEY, token)
    else store.setItem(sessionKey(info.sid), token)
    return true
  } catch {
    return false
  }
}

/** The address-bar parameters that carry credentials. */
export const CREDENTIAL_PARAMS = ['token', 'code'] as const

/**
 * Takes `?token=` and `?code=` out of the address bar (history.replaceState, keeping the router's
 * history state), once the page has what it needs from them.
 */
export function scrubCredentialsFromAddressBar(): void {
  if (typeof window === 'undefined') return
  const url = new URL(window.location.href)
  if (!CREDENTIAL_PARAMS.some((p) => url.searchParams.has(p))) return
  for (const p of CREDENTIAL_PARAMS) url.searchParams.delete(p)
  window.history.replaceState(window.history.state, '', `${url.pathname}${url.search}${url.hash}`)
}

const exchanges = new Map<string, Promise<string>>()

/**
 * Trades a one-time admin link's code for an admin token (POST /api/auth/exchange). One request
 * per code per page, even if a component asks twice (React re-runs effects in development): the
 * second request would find the code used.
 */
export function exchangeLoginCode(code: string): Promise<string> {
  let pending = exchanges.get(code)
  if (!pending) {
    pending = fetch('/api/auth/exchange', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    }).then(async (res) => {
      const body = (await res.json().catch(() => ({}))) as { token?: unknown; error?: unknown }
      if (!res.ok || typeof body.token !== 'string') {
        throw new Error(typeof body.error === 'string' ? body.error : `the server answered ${res.status}`)
      }
      return body.token
    })
    exchanges.set(code, pending)
  }
  return pending
}

export function forgetToken(token: string): void {
  const store = storage()
  if (!store) return
  for (const key of [ADMIN_KEY, ...Object.keys(store).filter((k) => k.startsWith('tether.token.session.'))]) {
    if (store.getItem(key) === token) store.removeItem(key)
  }
}

/** The best token this browser holds for a session (or, without one, for the session list). */
export function storedToken(sessionId?: string): string | undefined {
  const store = storage()
  if (!store) return undefined
  const candidates = [sessionId ? store.getItem(sessionKey(sessionId)) : null, store.getItem(ADMIN_KEY)]
  for (const token of candidates) {
    if (token && !isExpired(decodeToken(token))) return token
  }
  return undefined
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {}
}
