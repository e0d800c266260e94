/**
 * The built-in streams server's append as a direct call (StreamsEndpoint.append), for the session
 * layer's hot path: the same engine append the protocol POST runs (same checks, same group commit,
 * acknowledged after COMMIT, the same listeners and fan-out), without building a web Request and
 * Response per append and reading the body back out of a stream (~15 % of the app's time per
 * write, specs/benchmarks.md). Protocol refusals come back as streams-client's errors, exactly as
 * `failure()` makes them from a response. An external server (TETHER_STREAMS_URL) has no such
 * call: its appends stay plain HTTP through the transport.
 */
import { ProtocolError } from '../streams/errors'
import type { StreamAccess } from '../streams/seams'
import { type DirectAppend, StreamClosedError, StreamNotFoundError, StreamsProtocolError } from './streams-client'

const JSON_TYPE = 'application/json'

function header(headers: Record<string, string>, name: string): string | undefined {
  for (const key in headers) if (key.toLowerCase() === name) return headers[key]
  return undefined
}

/** ProtocolError → the error streams-client would have thrown for the same HTTP answer. */
function asClientError(path: string, err: ProtocolError): Error {
  if (err.status === 404 || err.status === 410) return new StreamNotFoundError(path)
  if (err.status === 409 && header(err.headers, 'stream-closed')?.toLowerCase() === 'true') {
    return new StreamClosedError(path, header(err.headers, 'stream-next-offset') ?? null)
  }
  return new StreamsProtocolError(path, err.status, JSON.stringify({ error: { code: err.code, message: err.message } }))
}

/** A DirectAppend over a built-in server's StreamAccess (either engine). */
export function directAppend(access: StreamAccess): DirectAppend {
  return async (path, body) => {
    try {
      return (await access.append(path, body, JSON_TYPE)).tailOffset
    } catch (err) {
      throw err instanceof ProtocolError ? asClientError(path, err) : err
    }
  }
}
