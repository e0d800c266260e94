/**
 * Tokens in the browser. Links carry a token in `?token=`; the page remembers it (localStorage,
 * per session, and the admin token for everything) so links inside the app work without it, and
 * sends it as `Authorization: Bearer` on API calls and stream reads. The payload is decoded only
 * to know the role, the session and who we are; the server is what checks the signature.
 */
export interface TokenInfo {
  role: 'viewer' | 'collaborator' | 'worker' | 'admin'
  sid: string
  sub?: string
  name?: string
  exp?: number
}

const ADMIN_KEY = 'tether.token.admin'
const sessionKey = (sessionId: string) => `tether.token.session.${sessionId}`

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

/** Remembers a token from a link, under the session it is for (or as the admin token). */
export function rememberToken(token: string): void {
  const info = decodeToken(token)
  const store = storage()
  if (!info || !store) return
  if (info.role === 'admin' && info.sid === '*') store.setItem(ADMIN_KEY, token)
  else store.setItem(sessionKey(info.sid), token)
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
