/**
 * The session layer's only way to reach streams: Durable Streams protocol requests through a
 * `StreamsTransport`. In-process the transport is the built-in server's handler; with
 * TETHER_STREAMS_URL it is `fetch` against an external server. Nothing here knows which.
 */

/** A Durable Streams server as a function: protocol request in, protocol response out. */
export type StreamsTransport = (req: Request) => Promise<Response>

/**
 * A plain JSON append (no close, no producer) to an existing stream, resolving to the new tail
 * offset after commit; throws this module's errors. Only the built-in server offers one
 * (streams-direct.ts): it skips building a protocol Request and Response per append.
 */
export type DirectAppend = (path: string, body: Uint8Array) => Promise<string>

export interface StreamsEndpoint {
  transport: StreamsTransport
  /** The built-in server's direct append (absent with an external server: appends go through `transport`). */
  append?: DirectAppend
  /**
   * The offsets are the built-in engine's (streams/offsets.ts: the first part counts appends), so
   * an append that ends one past the known tail's count came right after it. An external server's
   * offsets are opaque (the reference server's look alike but do not count appends).
   */
  offsetsCountAppends?: boolean
  /** Absolute URL under which stream paths live, no trailing slash (e.g. http://x/api/streams). */
  baseUrl: string
}

export const JSON_CONTENT_TYPE = 'application/json'

export class StreamClosedError extends Error {
  constructor(
    readonly path: string,
    readonly tailOffset: string | null,
  ) {
    super(`stream ${path} is closed`)
  }
}

export class StreamNotFoundError extends Error {
  constructor(readonly path: string) {
    super(`stream ${path} does not exist`)
  }
}

export class StreamsProtocolError extends Error {
  constructor(
    readonly path: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`streams server answered ${status} for ${path}: ${body.slice(0, 200)}`)
  }
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/')
}

export function streamUrl(endpoint: StreamsEndpoint, path: string): string {
  return `${endpoint.baseUrl}/${encodePath(path)}`
}

async function failure(path: string, res: Response): Promise<never> {
  const body = await res.text().catch(() => '')
  if (res.status === 404 || res.status === 410) throw new StreamNotFoundError(path)
  if (res.status === 409 && res.headers.get('stream-closed')?.toLowerCase() === 'true') {
    throw new StreamClosedError(path, res.headers.get('stream-next-offset'))
  }
  throw new StreamsProtocolError(path, res.status, body)
}

export interface CreateStreamOptions {
  /** Sliding time-to-live in seconds (renewed by every read and write). */
  ttlSeconds?: number
}

/** Creates a JSON-mode stream (idempotent for the same configuration). */
export async function createJsonStream(endpoint: StreamsEndpoint, path: string, opts: CreateStreamOptions = {}): Promise<void> {
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE }
  if (opts.ttlSeconds !== undefined) headers['stream-ttl'] = String(opts.ttlSeconds)
  const res = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'PUT', headers }))
  if (res.status !== 201 && res.status !== 200 && res.status !== 204) return failure(path, res)
  await res.body?.cancel()
}

export interface AppendOptions {
  /** Close the stream atomically with this append. */
  close?: boolean
}

/** Appends JSON messages as ONE append (a JSON array body); resolves to the new tail offset. */
export async function appendJson(endpoint: StreamsEndpoint, path: string, messages: unknown[], opts: AppendOptions = {}): Promise<string> {
  if (endpoint.append && !opts.close) return await endpoint.append(path, Buffer.from(JSON.stringify(messages)))
  const headers: Record<string, string> = { 'content-type': JSON_CONTENT_TYPE }
  if (opts.close) headers['stream-closed'] = 'true'
  const res = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'POST', headers, body: JSON.stringify(messages) }))
  if (!res.ok) return failure(path, res)
  await res.body?.cancel()
  const offset = res.headers.get('stream-next-offset')
  if (!offset) throw new StreamsProtocolError(path, res.status, 'append answered without Stream-Next-Offset')
  return offset
}

export async function closeStream(endpoint: StreamsEndpoint, path: string): Promise<void> {
  const res = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'POST', headers: { 'stream-closed': 'true' } }))
  if (!res.ok) return failure(path, res)
  await res.body?.cancel()
}

/** Deletes a stream; a stream that is already gone counts as deleted. */
export async function deleteStream(endpoint: StreamsEndpoint, path: string): Promise<void> {
  const res = await endpoint.transport(new Request(streamUrl(endpoint, path), { method: 'DELETE' }))
  await res.body?.cancel()
  if (!res.ok && res.status !== 404 && res.status !== 410) return failure(path, res)
}

export interface ReadResult {
  messages: unknown[]
  /** Offset to resume from. */
  nextOffset: string
  closed: boolean
}

/** Catch-up read from `offset` to the current tail (several requests if the server chunks). */
export async function readJsonToTail(endpoint: StreamsEndpoint, path: string, offset = '-1'): Promise<ReadResult> {
  const messages: unknown[] = []
  let next = offset
  for (;;) {
    const url = `${streamUrl(endpoint, path)}?offset=${encodeURIComponent(next)}`
    const res = await endpoint.transport(new Request(url, { method: 'GET' }))
    if (res.status !== 200 && res.status !== 204) return failure(path, res)
    const text = await res.text()
    if (text.trim().length > 0) {
      const parsed: unknown = JSON.parse(text)
      if (Array.isArray(parsed)) messages.push(...parsed)
      else messages.push(parsed)
    }
    const nextOffset = res.headers.get('stream-next-offset')
    if (!nextOffset) throw new StreamsProtocolError(path, res.status, 'read answered without Stream-Next-Offset')
    const closed = res.headers.get('stream-closed')?.toLowerCase() === 'true'
    const upToDate = res.headers.get('stream-up-to-date')?.toLowerCase() === 'true'
    const advanced = nextOffset !== next
    next = nextOffset
    if (closed || upToDate || !advanced) return { messages, nextOffset: next, closed }
  }
}

/** The external server as a transport: plain fetch, never compressed (we re-serve the bytes). */
export function fetchTransport(fetchImpl: typeof fetch = fetch): StreamsTransport {
  return (req) => {
    const headers = new Headers(req.headers)
    headers.set('accept-encoding', 'identity')
    return fetchImpl(new Request(req, { headers }))
  }
}
