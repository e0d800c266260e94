/**
 * Auth in front of the raw Durable Streams protocol path (`/api/streams/<path>`), with the same
 * scopes as the writer: reads need a token for the stream's session (admin for other streams);
 * creating, closing, deleting and forking need admin; appends to `sessions/<id>` are parsed,
 * each State Protocol event validated (validateEnvelope) and checked with canWrite. The bytes
 * are then forwarded unchanged to the streams server (in-process handler or external proxy).
 */
import type { Authenticator } from './auth'
import { validateEnvelope, type SessionEvent } from './channels'
import { HttpError, errorResponse, readBodyBytes } from './http'
import { canManageStream, canRead, canWrite, coversSession, sessionIdFromPath, type TokenClaims } from './tokens'
import type { StreamsTransport } from './streams-client'

export interface ProtocolGateOptions {
  auth: Authenticator
  /** Where the protocol is mounted, e.g. '/api/streams'. */
  basePath: string
  /** The streams server, addressed with the original (basePath-prefixed) URLs. */
  inner: StreamsTransport
  maxBodyBytes: number
  /** 404 unless a non-admin's session is live (checked before an append). */
  isSessionLive(sessionId: string): boolean
  /** Called after a successful append to a session stream. */
  onSessionAppend?(sessionId: string, events: SessionEvent[]): void
}

function isTrue(v: string | null): boolean {
  return v?.toLowerCase() === 'true'
}

/** Stream path (no leading slash) of a URL under basePath, or null when it is not under it. */
export function streamPathOf(pathname: string, basePath: string): string | null {
  const prefix = `${basePath.replace(/\/+$/, '')}/`
  if (!pathname.startsWith(prefix)) return null
  const rest = pathname.slice(prefix.length)
  try {
    return rest.split('/').map(decodeURIComponent).join('/')
  } catch {
    return null
  }
}

function forward(req: Request, url: URL, body: BodyInit | null | undefined): Request {
  const headers = new Headers(req.headers)
  headers.delete('authorization')
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

export function createProtocolGate(opts: ProtocolGateOptions): (req: Request) => Promise<Response> {
  const deny = (claims: TokenClaims, what: string) => new HttpError(403, `role ${claims.role} may not ${what}`, 'token')
  return async (req) => {
    try {
      const url = new URL(req.url)
      if (req.method === 'OPTIONS') return await opts.inner(forward(req, url, undefined))
      const path = streamPathOf(url.pathname, opts.basePath)
      if (path === null || path === '') throw new HttpError(404, 'no such stream path')
      if (path.startsWith('__ds/') && carriesOwnAuth(path, req.method)) {
        // Public key set, and subscription callbacks / acks authenticated by the subscription's own tokens.
        return await opts.inner(forwardKeepingAuth(req, url))
      }
      const claims = await opts.auth.authenticate(req)
      const sessionId = sessionIdFromPath(path)
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
      // POST: append (or close).
      const closing = isTrue(req.headers.get('stream-closed'))
      if (sessionId === null || closing) {
        if (!canManageStream(claims, path)) throw deny(claims, closing ? `close ${path}` : `append to ${path}`)
        if (sessionId === null) return await opts.inner(forward(req, url, undefined))
      }
      if (!coversSession(claims, sessionId)) throw deny(claims, `append to ${path} (token is for another session)`)
      const bytes = await readBodyBytes(req, opts.maxBodyBytes)
      if (bytes.byteLength === 0) return await opts.inner(forward(req, url, bytes))
      if (claims.role !== 'admin' && !opts.isSessionLive(sessionId)) throw new HttpError(404, `session ${sessionId} is unknown or has ended`, 'sessionId')
      let parsed: unknown
      try {
        parsed = JSON.parse(new TextDecoder().decode(bytes))
      } catch {
        throw new HttpError(400, 'body is not valid JSON', 'body')
      }
      // JSON mode flattens one level of array: each element is one message.
      const items = Array.isArray(parsed) ? parsed : [parsed]
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
      const res = await opts.inner(forward(req, url, bytes))
      if (res.ok && events.length > 0) opts.onSessionAppend?.(sessionId, events)
      return res
    } catch (err) {
      if (err instanceof HttpError) return errorResponse(err)
      throw err
    }
  }
}
