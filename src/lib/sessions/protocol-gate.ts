/**
 * Auth in front of the raw Durable Streams protocol path (`/api/streams/<path>`, `/v1/stream/<path>`),
 * with the same rules as the writer. It sees a request exactly as the streams layer will: the path
 * from the raw request target through the streams layer's own routeRequestPath (decoded once; `.`,
 * `..`, encoded or not, refused), and every protocol header through the streams layer's own
 * parsers (parseAppendHeaders), so nothing means one thing here and another to the store.
 *
 * Reads need a token for the stream's session (admin for other streams); creating, closing,
 * deleting and forking need admin. An append to `sessions/<id>` is authorized for the role before
 * its body is read, then read under the writer's limits (TETHER_MAX_EVENT_BODY_BYTES, 1,000
 * events, 64 levels of JSON), each State Protocol event validated (validateEnvelope), checked
 * with canWrite and for authorship (a chunk only into a message its author started). The bytes
 * are then forwarded unchanged to the streams server (in-process handler or external proxy).
 */
import { ProtocolError } from '../streams/errors'
import { nodeRequestOf } from '../streams/body'
import { mountOf, rawPathname, routeRequestPath } from '../streams/paths'
import { H } from '../streams/protocol'
import { parseAppendHeaders, type AppendHeaders } from '../streams/request-headers'
import type { Authenticator } from './auth'
import { validateEnvelope, type SessionEvent } from './session-events'
import type { MessageAuthors } from './event-ids'
import { claimMessages } from './fold'
import { HttpError, errorResponse, isAnswerable, parseJsonBytes, readBodyBytes } from './http'
import { MessageAuthorshipError, SessionStreamGoneError } from './session-errors'
import { StreamNotFoundError, type StreamsTransport } from './streams-client'
import { canManageStream, canRead, canWrite, coversSession, mayWriteSession, sessionIdFromPath, type TokenClaims } from './tokens'
import { MAX_EVENTS_PER_REQUEST } from './event-writer'
import type { RateCheck } from '../ops/rate-limit'

export interface ProtocolGateOptions {
  auth: Authenticator
  /** Where the protocol is mounted, e.g. '/api/streams'. */
  basePath: string
  /**
   * Mounts nested under basePath that serve the same streams (e.g. '/api/streams/v1/stream');
   * a path is routed under the longest mount that prefixes it, as the streams handler does.
   */
  nestedBasePaths?: string[]
  /** The streams server, addressed with the original (basePath-prefixed) URLs. */
  inner: StreamsTransport
  /** Largest body for streams other than sessions (admin only); TETHER_MAX_BODY_BYTES. */
  maxBodyBytes: number
  /** Largest append to a session stream: the writer's limit (TETHER_MAX_EVENT_BODY_BYTES). */
  maxEventBodyBytes: number
  /** Most events in one session append (default: the writer's). */
  maxEvents?: number
  /** 404 unless a non-admin's session is live (checked before an append). */
  isSessionLive(sessionId: string): boolean | Promise<boolean>
  /** Who started each message of a session (the map the writer checks too: session-log.ts). */
  messageAuthors(sessionId: string): Promise<MessageAuthors>
  /**
   * Called after a successful append to a session stream with the events it validated and the
   * append's Stream-Next-Offset (null when the answer had none).
   */
  onSessionAppend?(sessionId: string, events: SessionEvent[], offset: string | null): void
  /** Request rate limit on writes (POST, PUT, DELETE; src/lib/ops/rate-limit.ts); reads are not limited. */
  rateLimit?: RateCheck
}

function forward(req: Request, url: URL, body: BodyInit | null | undefined, append?: AppendHeaders): Request {
  const headers = new Headers(req.headers)
  headers.delete('authorization')
  // What the gate decided is what the server sees: canonical, not the sender's spelling.
  if (append) {
    if (append.close) headers.set(H.closed, 'true')
    else headers.delete(H.closed)
  }
  url.searchParams.delete('token')
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal: req.signal }
  if (body !== undefined) init.body = body
  else if (req.body && req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = req.body
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/** `__ds/` control routes that are public or carry the subscription's own bearer tokens. */
function carriesOwnAuth(path: string, method: string): boolean {
  if (path === '__ds/jwks.json') return method === 'GET' || method === 'HEAD'
  return method === 'POST' && /^__ds\/subscriptions\/[^/]+\/(callback|ack|release)$/.test(path)
}

function forwardKeepingAuth(req: Request, url: URL): Request {
  url.searchParams.delete('token')
  const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers: req.headers, signal: req.signal }
  if (req.body && req.method !== 'GET' && req.method !== 'HEAD') {
    init.body = req.body
    init.duplex = 'half'
  }
  return new Request(url, init)
}

/**
 * The stream path as the streams layer will route it: from the raw request target (the WHATWG
 * URL in req.url has already resolved `..`), decoded once. 400 for paths the store refuses.
 */
function streamPathOf(req: Request, url: URL, basePaths: readonly string[]): string {
  const raw = nodeRequestOf(req)?.url
  const route = (pathname: string) => routeRequestPath(pathname, mountOf(pathname, basePaths) ?? basePaths[0])
  let target = route(raw !== undefined ? rawPathname(raw) : url.pathname)
  // Behind a router that rewrote the target, fall back to the parsed URL (dot segments resolved).
  if (target.kind === 'outside' && raw !== undefined) target = route(url.pathname)
  switch (target.kind) {
    case 'outside':
      throw new HttpError(404, 'no such stream path')
    case 'invalid':
      throw new HttpError(400, target.reason, 'path')
    case 'reserved':
      return `__ds/${target.subPath}`
    case 'stream':
      return target.path
  }
}

function parseHeaders(req: Request): AppendHeaders {
  try {
    return parseAppendHeaders(req.headers)
  } catch (err) {
    if (err instanceof ProtocolError) throw new HttpError(err.status, err.message, 'headers')
    throw err
  }
}

export function createProtocolGate(opts: ProtocolGateOptions): (req: Request) => Promise<Response> {
  const maxEvents = opts.maxEvents ?? MAX_EVENTS_PER_REQUEST
  const deny = (claims: TokenClaims, what: string) => new HttpError(403, `role ${claims.role} may not ${what}`, 'token')
  const basePaths = [opts.basePath, ...(opts.nestedBasePaths ?? [])].map((bp) => bp.replace(/\/+$/, ''))
  return async (req) => {
    try {
      const url = new URL(req.url)
      if (req.method === 'OPTIONS') return await opts.inner(forward(req, url, undefined))
      const path = streamPathOf(req, url, basePaths)
      if (path.startsWith('__ds/') && carriesOwnAuth(path, req.method)) {
        // Public key set, and subscription callbacks / acks authenticated by the subscription's own tokens.
        return await opts.inner(forwardKeepingAuth(req, url))
      }
      const claims = await opts.auth.authenticate(req)
      const sessionId = sessionIdFromPath(path)
      const limited = req.method === 'GET' || req.method === 'HEAD' ? null : await opts.rateLimit?.(claims, 'writes')
      if (limited) return limited
      switch (req.method) {
        case 'GET':
        case 'HEAD':
          if (!canRead(claims, path)) throw deny(claims, `read ${path}`)
          return await opts.inner(forward(req, url, undefined))
        case 'PUT':
        case 'DELETE':
          if (!canManageStream(claims, path)) throw deny(claims, `${req.method === 'PUT' ? 'create' : 'delete'} ${path}`)
          return await opts.inner(forward(req, url, undefined))
        case 'POST':
          break
        default:
          throw new HttpError(405, `method ${req.method} not allowed`)
      }
      // POST: append (or close). Headers first, with the streams layer's own parser.
      const headers = parseHeaders(req)
      if (sessionId === null || headers.close) {
        if (!canManageStream(claims, path)) throw deny(claims, headers.close ? `close ${path}` : `append to ${path}`)
        if (sessionId === null) return await opts.inner(forward(req, url, undefined, headers))
      }
      // Authorized for the session before a byte of the body is read.
      if (!mayWriteSession(claims, sessionId)) {
        throw deny(claims, `append to ${path}${coversSession(claims, sessionId) ? '' : ' (token is for another session)'}`)
      }
      if (claims.role !== 'admin' && !(await opts.isSessionLive(sessionId)))
        throw new HttpError(404, `session ${sessionId} is unknown or has ended`, 'sessionId')
      const bytes = await readBodyBytes(req, opts.maxEventBodyBytes)
      if (bytes.byteLength === 0) {
        // An empty append is a close (admin, allowed above) or nothing at all.
        if (headers.close) return await opts.inner(forward(req, url, bytes, headers))
        throw new HttpError(400, 'an append needs a body', 'body')
      }
      // JSON mode flattens one level of array: each element is one message.
      const parsed = parseJsonBytes(bytes)
      const items = Array.isArray(parsed) ? parsed : [parsed]
      if (items.length > maxEvents) throw new HttpError(413, `at most ${maxEvents} events per request`, 'body')
      const events: SessionEvent[] = []
      for (const [i, item] of items.entries()) {
        const checked = validateEnvelope(item)
        if (!checked.ok) throw new HttpError(400, `[${i}].${checked.field}: ${checked.message}`, `[${i}].${checked.field}`)
        const event = checked.value
        if (!canWrite(claims, event.type, event.value ?? { id: event.key, userId: event.key })) {
          throw deny(claims, `write this ${event.type} event`)
        }
        events.push(event)
      }
      if (events.some((e) => e.type === 'chunk')) {
        const conflict = claimMessages(await authorsOf(sessionId), events)
        if (conflict) throw new MessageAuthorshipError(conflict.index, conflict.messageId)
      }
      const res = await opts.inner(forward(req, url, bytes, headers))
      if (res.ok && events.length > 0) opts.onSessionAppend?.(sessionId, events, res.headers.get(H.nextOffset))
      return res
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }

  async function authorsOf(sessionId: string): Promise<MessageAuthors> {
    try {
      return await opts.messageAuthors(sessionId)
    } catch (err) {
      if (err instanceof StreamNotFoundError) throw new SessionStreamGoneError(sessionId)
      throw err
    }
  }
}
