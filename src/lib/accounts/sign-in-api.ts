/**
 * Sign-in through an identity provider (specs/accounts.md):
 *   GET  /api/auth/login?provider=oidc|github&returnTo=/path   302 to the provider (PKCE, state, nonce)
 *   GET  /api/auth/callback                                     the provider's answer → sign-in cookie, 303 to returnTo
 *   POST /api/auth/logout                                       ends this browser's sign-in (server side) → 204
 *   GET  /api/auth/me                                           { user | null, providers } (public: says who you are)
 * What the login step needs at the callback stays in memory (10 minutes, keyed by state); the
 * browser holds only the state, in a cookie scoped to /api/auth, so a callback started in another
 * browser (login CSRF) is refused.
 */
import { HttpError, errorResponse, isAnswerable, json } from '../sessions/http'
import type { AccountStore } from './account-store'
import { LOGIN_COOKIE, clearCookie, randomSecret, readCookie, requireSameOrigin, setCookie, sha256, type CookiePolicy } from './cookies'
import type { AccountCredentials } from './credentials'
import { randomNonce, randomState, randomVerifier, type PendingLogin, type Provider, type ProviderId } from './providers'

export const AUTH_PATHS = { login: '/api/auth/login', callback: '/api/auth/callback', logout: '/api/auth/logout', me: '/api/auth/me' } as const
const LOGIN_TTL_MS = 10 * 60_000
/** Pending logins kept at most (each is a few hundred bytes): a flood of /login cannot fill memory. */
const MAX_PENDING = 10_000

export interface SignInApiOptions {
  providers: ReadonlyMap<ProviderId, Provider>
  store: AccountStore
  credentials: AccountCredentials
  cookie: CookiePolicy
  publicUrl: string
  signInTtlMs: number
  now: () => number
  /** Called after a person signs in or out (the audit log). */
  onSignIn?: (userId: string, provider: string) => void
}

/** Only a path on this site: `//evil.example` or `https://…` would make us an open redirect. */
export function safeReturnTo(value: string | null): string {
  if (!value?.startsWith('/') || value.startsWith('//') || value.startsWith('/\\') || /[\r\n]/.test(value)) return '/'
  return value
}

export function createSignInApi(opts: SignInApiOptions): (req: Request) => Promise<Response> {
  const pending = new Map<string, PendingLogin & { expiresAt: number }>()
  const redirectUri = `${opts.publicUrl}${AUTH_PATHS.callback}`
  const authCookiePath = '/api/auth'

  const takePending = (state: string) => {
    const p = pending.get(state)
    pending.delete(state)
    return p && p.expiresAt > opts.now() ? p : null
  }
  const prune = () => {
    const at = opts.now()
    for (const [k, v] of pending) if (v.expiresAt <= at) pending.delete(k)
    while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string)
  }

  async function login(url: URL): Promise<Response> {
    if (opts.providers.size === 0) throw new HttpError(404, 'sign-in is not configured on this server (no identity provider)')
    const id = (url.searchParams.get('provider') ?? [...opts.providers.keys()][0]) as ProviderId
    const provider = opts.providers.get(id)
    if (!provider) throw new HttpError(400, `unknown provider ${id}: this server offers ${[...opts.providers.keys()].join(', ')}`, 'provider')
    const state = randomState()
    const p: PendingLogin = { provider: id, codeVerifier: randomVerifier(), nonce: id === 'oidc' ? randomNonce() : null, returnTo: safeReturnTo(url.searchParams.get('returnTo')) }
    let target: URL
    try {
      target = await provider.authorizationUrl(redirectUri, state, p)
    } catch (err) {
      throw new HttpError(502, `the identity provider could not be reached: ${(err as Error).message}`)
    }
    prune()
    pending.set(state, { ...p, expiresAt: opts.now() + LOGIN_TTL_MS })
    return new Response(null, {
      status: 302,
      headers: { location: target.href, 'set-cookie': setCookie(opts.cookie, LOGIN_COOKIE, state, LOGIN_TTL_MS / 1000, authCookiePath), 'cache-control': 'no-store' },
    })
  }

  async function callback(req: Request, url: URL): Promise<Response> {
    const state = url.searchParams.get('state')
    if (!state) throw new HttpError(400, 'the callback has no state', 'state')
    if (readCookie(req, LOGIN_COOKIE) !== state) throw new HttpError(400, 'this sign-in was started in another browser or has expired: sign in again', 'state')
    const p = takePending(state)
    if (!p) throw new HttpError(400, 'this sign-in has expired or was already used: sign in again', 'state')
    const providerError = url.searchParams.get('error')
    if (providerError) throw new HttpError(400, `the identity provider refused: ${providerError.slice(0, 200)}`, 'error')
    const provider = opts.providers.get(p.provider)
    if (!provider) throw new HttpError(400, `provider ${p.provider} is no longer configured`, 'provider')
    // The library validates the answer against what the provider promised; the URL it checks is ours.
    const callbackUrl = new URL(`${redirectUri}${url.search}`)
    let who: Awaited<ReturnType<Provider['identity']>>
    try {
      who = await provider.identity(callbackUrl, state, p)
    } catch (err) {
      throw new HttpError(400, `sign-in failed: ${(err as Error).message}`)
    }
    const user = await opts.store.upsertUser(who)
    const secret = randomSecret()
    await opts.store.addSignIn(sha256(secret), user.id, opts.signInTtlMs)
    opts.onSignIn?.(user.id, who.provider)
    const headers = new Headers({ location: p.returnTo, 'cache-control': 'no-store' })
    headers.append('set-cookie', setCookie(opts.cookie, opts.cookie.name, secret, Math.floor(opts.signInTtlMs / 1000)))
    headers.append('set-cookie', clearCookie(opts.cookie, LOGIN_COOKIE, authCookiePath))
    return new Response(null, { status: 303, headers })
  }

  async function logout(req: Request): Promise<Response> {
    const id = readCookie(req, opts.cookie.name)
    // Another site must not sign people out either; without a cookie there is nothing to end.
    if (id) {
      requireSameOrigin(req, [opts.publicUrl, new URL(req.url).origin])
      await opts.store.endSignIn(sha256(id))
    }
    return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(opts.cookie, opts.cookie.name) } })
  }

  async function me(req: Request): Promise<Response> {
    const user = await opts.credentials.userOfCookie(req)
    const providers = [...opts.providers.keys()]
    if (!user) return json({ user: null, providers })
    return json({
      user: { id: user.id, name: user.name, email: user.email, provider: user.provider, admin: opts.credentials.isAdmin(user) },
      providers,
    })
  }

  return async (req) => {
    try {
      const url = new URL(req.url)
      const allow = (m: string) => {
        if (req.method !== m) throw new HttpError(405, `use ${m}`, undefined, { allow: m })
      }
      switch (url.pathname) {
        case AUTH_PATHS.login:
          allow('GET')
          return await login(url)
        case AUTH_PATHS.callback:
          allow('GET')
          return await callback(req, url)
        case AUTH_PATHS.logout:
          allow('POST')
          return await logout(req)
        case AUTH_PATHS.me:
          allow('GET')
          return await me(req)
      }
      throw new HttpError(404, 'no such sign-in endpoint')
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }
}
