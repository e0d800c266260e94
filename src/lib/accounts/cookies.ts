/**
 * The sign-in cookie and the checks that come with cookies: an opaque random id (its SHA-256 is
 * what the database keeps), http-only so page scripts never see it, SameSite=Lax, Secure (and the
 * `__Host-` prefix, which pins it to this origin) when the public URL is https. Because a browser
 * sends a cookie on its own, an unsafe request authenticated by it must prove it comes from our
 * page: a same-origin `Origin` (cross-site request forgery).
 */
import { createHash, randomBytes } from 'node:crypto'
import { HttpError } from '../sessions/http'

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex')
export const randomSecret = () => randomBytes(32).toString('base64url')

export interface CookiePolicy {
  /** `__Host-tether_signin` over https, `tether_signin` over http. */
  name: string
  secure: boolean
}

export function cookiePolicy(publicUrl: string): CookiePolicy {
  const secure = new URL(publicUrl).protocol === 'https:'
  return { name: secure ? '__Host-tether_signin' : 'tether_signin', secure }
}

/** The login step's state, bound to the browser that started it (login CSRF). */
export const LOGIN_COOKIE = 'tether_login'

export function readCookie(req: Request, name: string): string | null {
  const header = req.headers.get('cookie')
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || null
  }
  return null
}

export function setCookie(policy: CookiePolicy, name: string, value: string, maxAgeSeconds: number, path = '/'): string {
  return [`${name}=${value}`, `Path=${path}`, `Max-Age=${maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax', ...(policy.secure ? ['Secure'] : [])].join('; ')
}

export const clearCookie = (policy: CookiePolicy, name: string, path = '/') => setCookie(policy, name, '', 0, path)

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * 403 unless an unsafe cookie-authenticated request comes from one of `origins` (the public URL's,
 * the request's own). Without an `Origin` header only `Sec-Fetch-Site: same-origin` will do.
 */
export function requireSameOrigin(req: Request, origins: readonly string[]): void {
  if (SAFE_METHODS.has(req.method)) return
  const origin = req.headers.get('origin')
  if (origin !== null ? origins.includes(origin) : req.headers.get('sec-fetch-site') === 'same-origin') return
  throw new HttpError(403, 'a request signed in by cookie must come from this site (Origin header); programs use Authorization: Bearer', 'origin')
}
