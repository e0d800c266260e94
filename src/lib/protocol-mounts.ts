/**
 * Where the app serves the Durable Streams protocol and how requests cross into it: the mounts
 * (one set of streams under three prefixes), the proxy to an external streams server, and the
 * CORS answers of the app's own APIs. Split from tether-server.ts (the composition root).
 */
import { SESSIONS_MOUNT, STREAMS_MOUNT } from './common/session-contract'
import { fetchTransport, type StreamsTransport } from './sessions/streams-client'
import { mountOf } from './streams/paths'

export const STREAMS_BASE_PATH = STREAMS_MOUNT
/**
 * The same streams at the protocol's conventional mount, so off-the-shelf Durable Streams tools
 * (and the official conformance suite, whose subscription tests assume `/v1/stream/`) work as is.
 */
export const PROTOCOL_ALIAS_PATH = '/v1/stream'
/**
 * And once more under the app's own mount: a client whose base URL is `/api/streams` and that
 * follows the protocol's `/v1/stream/` layout (the conformance suite does) addresses the same
 * streams, and the paths it puts in `Stream-Forked-From` (`/v1/stream/<name>`, relative to its
 * base) and in subscription patterns name the same streams whichever way they are read.
 */
export const NESTED_PROTOCOL_PATH = `${STREAMS_MOUNT}${PROTOCOL_ALIAS_PATH}`
export const SESSIONS_BASE_PATH = SESSIONS_MOUNT
/** The external server as seen from /api/streams/*: same path below the mount, other origin. */
export function proxyTransport(externalBase: string): StreamsTransport {
  const upstream = fetchTransport()
  return (req) => {
    const url = new URL(req.url)
    // The same longest-mount rule as the gate and the built-in handler, so all three see one path.
    const mount = mountOf(url.pathname, [STREAMS_BASE_PATH, PROTOCOL_ALIAS_PATH, NESTED_PROTOCOL_PATH]) ?? STREAMS_BASE_PATH
    const rest = url.pathname.slice(mount.length)
    const target = `${externalBase}${rest}${url.search}`
    const headers = new Headers(req.headers)
    for (const h of ['host', 'connection', 'keep-alive', 'transfer-encoding']) headers.delete(h)
    const init: RequestInit & { duplex?: 'half' } = { method: req.method, headers, signal: req.signal, redirect: 'manual' }
    if (req.body && req.method !== 'GET' && req.method !== 'HEAD') {
      init.body = req.body
      init.duplex = 'half'
    }
    return upstream(new Request(target, init)).then((res) => {
      // fetch already decoded the body; don't claim an encoding or length it no longer has.
      const out = new Headers(res.headers)
      out.delete('content-encoding')
      out.delete('content-length')
      return new Response(res.body, { status: res.status, statusText: res.statusText, headers: out })
    })
  }
}

export const PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, PATCH, DELETE, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization',
  'access-control-max-age': '600',
}

/**
 * Tokens are bearer headers, never cookies, so a page on another origin gains nothing it could
 * not do with the token anyway: the writer and /api/sessions answer any origin, like the protocol
 * at /api/streams/* (PROTOCOL §12.7). Actual answers carry what the preflight promises (issue #8:
 * the preflight said yes, then the browser withheld every answer).
 */
export function withCors(res: Response): Response {
  try {
    res.headers.set('access-control-allow-origin', '*')
    return res
  } catch {
    // Immutable headers (a proxied response): copy.
    const headers = new Headers(res.headers)
    headers.set('access-control-allow-origin', '*')
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers })
  }
}
