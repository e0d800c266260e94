/**
 * A person's credentials as session-layer claims: the sign-in cookie and personal API keys
 * (`tk_…`). The authenticator (src/lib/sessions/auth.ts) asks here first; a JWT in Authorization
 * is not ours and goes on to the token check unchanged.
 *
 * Claims are made per request, for the session the request names (target.ts), from the database
 * as it is now: removing a member, revoking a key or signing out takes effect on the next request.
 * - admin (a verified email in TETHER_ADMIN_EMAILS): admin of all sessions;
 * - the session's owner (created it): collaborator there, plus owner actions (agents, members);
 * - a member: the role they were invited with;
 * - anyone else: claims that cover no session (403 from the handler, with its reason).
 * A scoped key acts on its one session with the lower of its role and the person's.
 */
import type { UserRow } from '../db/schema/accounts'
import { HttpError } from '../sessions/http'
import { NO_SESSION, type Role, type TokenClaims } from '../sessions/tokens'
import type { AccountStore, MemberRole } from './account-store'
import { readCookie, requireSameOrigin, sha256, type CookiePolicy } from './cookies'
import { targetSessionOf } from './target'

export const API_KEY_PREFIX = 'tk_'

const RANK: Record<Role, number> = { viewer: 0, collaborator: 1, worker: -1, admin: 2 }
const lower = (a: Role, b: Role): Role => (RANK[a] <= RANK[b] ? a : b)

export interface CredentialsOptions {
  store: AccountStore
  cookie: CookiePolicy
  adminEmails: ReadonlySet<string>
  /** Origins an unsafe cookie request may come from (besides the request's own). */
  origins: readonly string[]
  now: () => number
}

export interface AccountCredentials {
  /** Claims for the request's cookie or `tk_` key (bearer = what Authorization or ?token= carries); null when it has neither. */
  claimsFor(req: Request, bearer: string | null): Promise<TokenClaims | null>
  isAdmin(user: UserRow): boolean
  /** The person's role on a session now, or null. */
  roleOn(user: UserRow, sessionId: string): Promise<Role | null>
  /** The person a sign-in cookie names (for /api/auth/me), or null. */
  userOfCookie(req: Request): Promise<UserRow | null>
}

export function createCredentials(opts: CredentialsOptions): AccountCredentials {
  const { store } = opts
  const isAdmin = (user: UserRow) => user.emailVerified && user.email !== null && opts.adminEmails.has(user.email)

  /** The person's role on a session, or null. */
  const roleOn = async (user: UserRow, sessionId: string): Promise<Role | null> => {
    if (isAdmin(user)) return 'admin'
    const owner = await store.ownerOf(sessionId)
    if (owner === undefined) return null
    if (owner === user.id) return 'collaborator'
    return await store.memberRole(sessionId, user.id)
  }

  const claimsOf = async (user: UserRow, req: Request, expSeconds: number, scope: { sessionId: string; role: MemberRole } | null): Promise<TokenClaims> => {
    const nowSec = Math.floor(opts.now() / 1000)
    const base = { sub: user.id, ...(user.name ? { name: user.name.slice(0, 100) } : {}), exp: expSeconds, iat: nowSec }
    if (scope) {
      const role = await roleOn(user, scope.sessionId)
      return role ? { ...base, role: lower(role, scope.role), sid: scope.sessionId } : { ...base, role: 'viewer', sid: NO_SESSION }
    }
    if (isAdmin(user)) return { ...base, role: 'admin', sid: '*', account: user.id }
    const target = targetSessionOf(new URL(req.url))
    const role = target === null ? null : await roleOn(user, target)
    if (target !== null && role) return { ...base, role, sid: target, account: user.id }
    // No session named (list, create) or not theirs: the account itself, covering no session.
    return { ...base, role: 'collaborator', sid: NO_SESSION, account: user.id }
  }

  const userOfCookie = async (req: Request) => {
    const id = readCookie(req, opts.cookie.name)
    return id ? await store.signedIn(sha256(id)) : null
  }

  return {
    isAdmin,
    roleOn,
    userOfCookie,
    async claimsFor(req, bearer) {
      if (bearer !== null) {
        if (!bearer.startsWith(API_KEY_PREFIX)) return null
        const key = await store.keyByHash(sha256(bearer))
        const user = key ? await store.user(key.userId) : null
        if (!key || !user) throw new HttpError(401, 'unknown or revoked API key', 'token', { 'www-authenticate': 'Bearer error="invalid_token"' })
        await store.touchKey(key)
        const scope = key.sessionId && key.role ? { sessionId: key.sessionId, role: key.role } : null
        return claimsOf(user, req, Math.floor(opts.now() / 1000) + 86_400, scope)
      }
      const id = readCookie(req, opts.cookie.name)
      if (!id) return null
      const user = await store.signedIn(sha256(id))
      if (!user) throw new HttpError(401, 'signed out or sign-in expired: sign in again', 'cookie')
      requireSameOrigin(req, [...opts.origins, new URL(req.url).origin])
      return claimsOf(user, req, Math.floor(opts.now() / 1000) + 3600, null)
    },
  }
}
