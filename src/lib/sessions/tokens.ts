/**
 * Signed, expiring access tokens (HS256 JWTs via jose), scoped to one session (or all, for admin).
 *
 * Roles:
 * - viewer: read its session. A viewer token with a subject (from the join exchange) may also
 *   write its own `presence` entry (userId = subject, `role: 'viewer'`, or delete it), so people
 *   can see who is watching; nothing else.
 * - collaborator: read; write `chunk` as role 'user' with author = its subject, `terminal` input /
 *   resize lines with source = its subject, its own `presence` (userId = subject), and stop/cancel
 *   control requests (requestedBy = subject). A collaborator token without a subject (a share
 *   link's token) may read and join (exchange itself for a personal one), not write.
 * - worker: read; write `chunk` as assistant/system with author = its subject (agent id),
 *   `tool-call` with agentId = its subject, `terminal` output / exit lines with source = its
 *   subject, its own agent state.
 *
 * On top of these per-event rules, a chunk may only continue a message its author started
 * (fold.ts claimMessages, enforced by the writer and the protocol gate alike).
 * - admin: everything, every session (`sid: '*'`).
 *
 * Browser-safe (no node imports); the secret file lives in ./secret.ts.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose'
import { sessionIdOfStreamPath } from '../common/session-contract'
import { hasControlChars, isChannel, type Channel } from './channel-schemas'
import { HttpError } from './http'

export const ROLES = ['viewer', 'collaborator', 'worker', 'admin'] as const
export type Role = (typeof ROLES)[number]
export const ALL_SESSIONS = '*'
/** The scope of account claims for a request that names no session the person may use: covers none. */
export const NO_SESSION = ''

export interface TokenClaims {
  role: Role
  /** Session id, or '*' (admin only). */
  sid: string
  /** User id (collaborator) or agent id (worker); absent on share-link tokens. */
  sub?: string
  /** Display name carried for convenience (presence). */
  name?: string
  /**
   * Set when the credential is a signed-in person's (sign-in cookie or unscoped personal API key;
   * src/lib/accounts): the user id. Such claims are made per request for the session it names, and
   * may also list and create the person's own sessions. Never in a JWT.
   */
  account?: string
  /** Expiry, epoch seconds. */
  exp: number
  iat: number
}

export interface IssueTokenOptions {
  role: Role
  /** Required unless role is admin (then defaults to all sessions). */
  sessionId?: string
  subject?: string
  name?: string
  /** Lifetime in seconds; default per role (DEFAULT_TTL_SECONDS). */
  ttlSeconds?: number
  /** Injectable clock, epoch ms. */
  now?: number
}

export const DEFAULT_TTL_SECONDS: Record<Role, number> = {
  viewer: 7 * 86_400,
  collaborator: 7 * 86_400,
  worker: 86_400,
  admin: 30 * 86_400,
}

const ISSUER = 'tether'
const ALG = 'HS256'

export type TokenSecret = Uint8Array

export function secretFromString(value: string): TokenSecret {
  return new TextEncoder().encode(value)
}

export async function issueToken(secret: TokenSecret, options: IssueTokenOptions): Promise<string> {
  const { role } = options
  if (!ROLES.includes(role)) throw new Error(`unknown role ${String(role)}`)
  const sid = options.sessionId ?? (role === 'admin' ? ALL_SESSIONS : undefined)
  if (!sid) throw new Error(`a ${role} token needs a session id`)
  if (sid === ALL_SESSIONS && role !== 'admin') throw new Error('only admin tokens may cover all sessions')
  if (role === 'worker' && !options.subject) throw new Error('a worker token needs a subject (agent id)')
  // Subjects and names end up in other people's views (presence, terminal labels): printable only.
  for (const [what, value, max] of [
    ['subject', options.subject, 200],
    ['name', options.name, 100],
    ['sessionId', sid, 200],
  ] as const) {
    if (value !== undefined && (value.length > max || hasControlChars(value))) {
      throw new TokenInputError(
        `token ${what} must be at most ${max} characters without control characters`,
        what === 'name' ? 'displayName' : what,
      )
    }
  }
  const nowSec = Math.floor((options.now ?? Date.now()) / 1000)
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS[role]
  const jwt = new SignJWT({ role, sid, ...(options.name ? { name: options.name } : {}) })
    .setProtectedHeader({ alg: ALG })
    .setIssuer(ISSUER)
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + ttl)
  if (options.subject) jwt.setSubject(options.subject)
  return jwt.sign(secret)
}

/** Bad input to issueToken (a name with control characters, …): an HttpError, so every API answers 400. */
export class TokenInputError extends HttpError {
  constructor(message: string, field: string) {
    super(400, message, field)
  }
}

export type VerifyResult = { ok: true; claims: TokenClaims } | { ok: false; reason: string }

export async function verifyToken(secret: TokenSecret, token: string, now?: number): Promise<VerifyResult> {
  try {
    const { payload } = await jwtVerify(token, secret, {
      issuer: ISSUER,
      algorithms: [ALG],
      ...(now !== undefined ? { currentDate: new Date(now) } : {}),
    })
    const { role, sid, sub, name, exp, iat } = payload as Record<string, unknown>
    if (typeof role !== 'string' || !(ROLES as readonly string[]).includes(role)) return { ok: false, reason: 'token has no valid role' }
    if (typeof sid !== 'string' || (sid === ALL_SESSIONS && role !== 'admin'))
      return { ok: false, reason: 'token has no valid session scope' }
    if (typeof exp !== 'number' || typeof iat !== 'number') return { ok: false, reason: 'token has no expiry' }
    return {
      ok: true,
      claims: {
        role: role as Role,
        sid,
        exp,
        iat,
        ...(typeof sub === 'string' ? { sub } : {}),
        ...(typeof name === 'string' ? { name } : {}),
      },
    }
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) return { ok: false, reason: 'token expired' }
    return { ok: false, reason: 'invalid token' }
  }
}

/** Claims used when TETHER_AUTH=off: an admin for everything. */
export const AUTH_OFF_CLAIMS: TokenClaims = { role: 'admin', sid: ALL_SESSIONS, sub: 'local', exp: Number.MAX_SAFE_INTEGER, iat: 0 }

export function coversSession(claims: TokenClaims, sessionId: string): boolean {
  return claims.sid === ALL_SESSIONS || claims.sid === sessionId
}

/**
 * The session a stream-root-relative path belongs to (`sessions/<id>` → id), or null. The path
 * is already decoded (routeRequestPath): decoding again would let `%2573` name one stream to the
 * gate and another to the store.
 */
export function sessionIdFromPath(path: string): string | null {
  return sessionIdOfStreamPath(path)
}

/** Reading a stream: its session's tokens may read it; any other stream needs admin. */
export function canRead(claims: TokenClaims, path: string): boolean {
  if (claims.role === 'admin' && claims.sid === ALL_SESSIONS) return true
  const sid = sessionIdFromPath(path)
  return sid !== null && coversSession(claims, sid)
}

/**
 * Streams the server writes for itself (`__tether/lifecycle`, `__tether/audit`): admins read them,
 * nobody writes, closes or deletes them through the protocol, or an admin token could rewrite the
 * audit trail of what it did. The server appends to them in process, past the gate.
 */
export const SERVER_STREAMS_PREFIX = '__tether/'

/** Creating, closing, deleting or forking a stream: admin only; never the server's own streams. */
export function canManageStream(claims: TokenClaims, path: string): boolean {
  if (claims.role !== 'admin' || path.startsWith(SERVER_STREAMS_PREFIX)) return false
  if (claims.sid === ALL_SESSIONS) return true
  const sid = sessionIdFromPath(path)
  return sid !== null && sid === claims.sid
}

/**
 * Whether `claims` may write to the session at all (some channel, some value): checked before a
 * body is read, so a viewer's or share link's body is never buffered.
 */
export function mayWriteSession(claims: TokenClaims, sessionId: string): boolean {
  if (!coversSession(claims, sessionId)) return false
  if (claims.role === 'admin') return true
  // A viewer with a user writes only its own presence (canWrite checks each event).
  return (claims.role === 'collaborator' || claims.role === 'worker' || claims.role === 'viewer') && Boolean(claims.sub)
}

function field(data: unknown, name: string): unknown {
  return typeof data === 'object' && data !== null ? (data as Record<string, unknown>)[name] : undefined
}

/** A presence delete's stand-in value (`{ id, userId }`: the key only, no entry to check). */
function isKeyOnly(data: unknown): boolean {
  return typeof data === 'object' && data !== null && Object.keys(data).every((k) => k === 'id' || k === 'userId')
}

/**
 * Whether `claims` may write this (already validated) value to `channel` of a session it covers.
 * Session coverage is checked separately (coversSession); this is the per-role channel rule.
 * For a presence delete pass the key as `{ userId }` / `{ id }`.
 */
export function canWrite(claims: TokenClaims, channel: Channel | string, data: unknown): boolean {
  if (!isChannel(channel)) return false
  if (claims.role === 'admin') return true
  const sub = claims.sub
  if (!sub) return false
  if (claims.role === 'viewer') {
    // Its own entry, marked as a viewer's (a delete carries only the key: `{ id, userId }`).
    if (channel !== 'presence' || (field(data, 'userId') ?? field(data, 'id')) !== sub) return false
    return isKeyOnly(data) || field(data, 'role') === 'viewer'
  }
  if (claims.role === 'collaborator') {
    switch (channel) {
      case 'chunk':
        return field(data, 'role') === 'user' && field(data, 'author') === sub
      case 'terminal':
        return (field(data, 'kind') === 'input' || field(data, 'kind') === 'resize') && field(data, 'source') === sub
      case 'presence':
        // Its own entry; it may say less than it is (viewer), never admin.
        return (field(data, 'userId') ?? field(data, 'id')) === sub && field(data, 'role') !== 'admin'
      case 'agent-state':
        return field(data, 'kind') === 'control' && field(data, 'requestedBy') === sub
      default:
        return false
    }
  }
  // worker
  switch (channel) {
    case 'chunk':
      return (field(data, 'role') === 'assistant' || field(data, 'role') === 'system') && field(data, 'author') === sub
    case 'tool-call':
      // The session's agent, recording its own calls (agentId names the caller).
      return field(data, 'agentId') === sub
    case 'terminal':
      return (field(data, 'kind') === 'output' || field(data, 'kind') === 'exit') && field(data, 'source') === sub
    case 'agent-state':
      return field(data, 'kind') !== 'control' && field(data, 'agentId') === sub
    default:
      return false
  }
}

/** Extracts a bearer token from `Authorization: Bearer …` or the `token` query parameter. */
export function tokenFromRequest(req: Request): string | null {
  const header = req.headers.get('authorization')
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header.trim())
    if (m) return m[1].trim()
  }
  const q = new URL(req.url).searchParams.get('token')
  return q && q.length > 0 ? q : null
}
