/**
 * Request authentication for the session layer: a bearer token (header or `?token=`), verified
 * against the server secret. With auth off every request acts as an admin.
 */
import { HttpError } from './http'
import {
  AUTH_OFF_CLAIMS,
  coversSession,
  issueToken,
  tokenFromRequest,
  verifyToken,
  type IssueTokenOptions,
  type Role,
  type TokenClaims,
  type TokenSecret,
} from './tokens'

/** People's credentials (sign-in cookie, `tk_` personal keys): src/lib/accounts/credentials.ts. */
export interface PersonCredentials {
  /** Claims for the request's cookie or key (`bearer`: what Authorization or ?token= carries); null when it has neither. */
  claimsFor(req: Request, bearer: string | null): TokenClaims | null | Promise<TokenClaims | null>
}

export interface Authenticator {
  readonly enabled: boolean
  /** Claims of the request's token; 401 when missing or invalid. */
  authenticate(req: Request): Promise<TokenClaims>
  issue(opts: IssueTokenOptions): Promise<string>
  /** Signatures checked so far (a token found in the verified cache is not counted). */
  readonly verifications: number
}

/**
 * Verified tokens remembered (a writer sends the same token with every event). A live session
 * brings about three (its worker's and two viewers'), so the cache must hold several per live
 * session: at 1,024 a node past ~340 live sessions evicted every token before its next use and
 * checked a signature on every write. 16,384 entries of a ~300-byte token and its claims are
 * ~8 MiB at most.
 */
export const VERIFIED_CACHE_SIZE = 16_384

export function createAuthenticator(opts: {
  secret: TokenSecret
  enabled: boolean
  now: () => number
  /** Set once accounts are wired (createTetherServer); absent: tokens only, as before. */
  people?: () => PersonCredentials | null
}): Authenticator {
  // A token's signature and claims never change, only whether it has expired: a token verified
  // once is re-checked against the clock alone (same rule as jose: expired when exp <= now).
  const verified = new Map<string, TokenClaims>()
  let verifications = 0
  return {
    enabled: opts.enabled,
    get verifications() {
      return verifications
    },
    async authenticate(req) {
      if (!opts.enabled) return AUTH_OFF_CLAIMS
      const token = tokenFromRequest(req)
      // A person's cookie or personal key (`tk_…`) first; a JWT is not theirs and goes on below.
      const person = await opts.people?.()?.claimsFor(req, token)
      if (person) return person
      if (!token)
        throw new HttpError(401, 'missing token: send Authorization: Bearer <token> or ?token=', 'token', { 'www-authenticate': 'Bearer' })
      const now = opts.now()
      const known = verified.get(token)
      if (known && known.exp > Math.floor(now / 1000)) return known
      verifications++
      const r = await verifyToken(opts.secret, token, now)
      if (!r.ok) {
        verified.delete(token)
        throw new HttpError(401, r.reason, 'token', { 'www-authenticate': 'Bearer error="invalid_token"' })
      }
      if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string)
      verified.set(token, r.claims)
      return r.claims
    },
    issue(issueOpts) {
      return issueToken(opts.secret, { now: opts.now(), ...issueOpts })
    },
  }
}

/** 403 unless the claims cover the session and have one of the roles. */
export function requireSession(claims: TokenClaims, sessionId: string, roles: readonly Role[]): void {
  if (!coversSession(claims, sessionId)) throw new HttpError(403, `token is not valid for session ${sessionId}`, 'token')
  if (!roles.includes(claims.role)) throw new HttpError(403, `role ${claims.role} may not do this (needs ${roles.join(' or ')})`, 'token')
}

/**
 * The one owner rule (a session's agents and members): an admin covering the session, or a
 * collaborator of this session whose subject created it (`sessions.created_by`; a signed-in
 * owner's account claims are collaborator claims with their user id as the subject).
 */
export function isOwnerOrAdmin(claims: TokenClaims, sessionId: string, owner: string | null | undefined): boolean {
  if (!coversSession(claims, sessionId)) return false
  if (claims.role === 'admin') return true
  return claims.role === 'collaborator' && Boolean(claims.sub) && claims.sub === owner
}

export function requireAdmin(claims: TokenClaims): void {
  if (claims.role !== 'admin' || claims.sid !== '*') throw new HttpError(403, 'needs an admin token for all sessions', 'token')
}
