/**
 * A small `fetch` over node:http for the worker's own calls to the server: the session stream's
 * reads and appends, its record, agent tokens, workspace snapshots and model gateway steps.
 *
 * Why not Node's fetch: it is undici, loaded on first use, and loading it adds ~12 MiB of RSS
 * (its code, its wasm HTTP parser, the web Request/Response/Headers classes) to every idle worker
 * (issue #13, worker density: a bare node is 39 MiB, one that has fetched 52 MiB). node:http is
 * already in the binary's snapshot and costs ~2 MiB. The answer is a small Response-like object
 * with what the worker and @durable-streams/client read (status, ok, headers.get/has/entries,
 * text/json/arrayBuffer, body as a web ReadableStream): touching the global `Response`, `Headers`
 * or `Request` would load undici again, so this module never does.
 *
 * Behaviour kept from fetch: the promise settles at the response's headers; a network error
 * rejects with a TypeError; an abort rejects with the signal's reason and errors the body. The
 * body is read as it arrives (so an unread body never pins a pooled connection) and buffered
 * until asked for; `body` streams it (the gateway's NDJSON steps). No redirects, no compression
 * (none is asked for), no cookies: the server answers this client directly.
 * A URL this does not speak (data:, a streamed request body) goes to the global fetch.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http'

type FetchInput = Parameters<typeof fetch>[0]
type FetchInit = NonNullable<Parameters<typeof fetch>[1]>

// One keep-alive pool per worker: the stream's long-polls and appends reuse their connections.
// No cap on sockets (fetch has none either): a single-container worker holds a long-poll, and per
// agent an append and a streamed model step at once; a cap would queue appends behind streams.
const agent = new Agent({ keepAlive: true })
let httpsAgent: Agent | null = null

/** Origins answered through a unix socket instead of TCP (the docker runtime's server link). */
const socketRoutes = new Map<string, string>()

/**
 * Requests to `origin` go straight to the unix socket at `socketPath` (the one the server link
 * relays to), skipping the container's loopback relay hop.
 */
export function routeOriginToSocket(origin: string, socketPath: string): void {
  socketRoutes.set(new URL(origin).origin, socketPath)
}

/** Headers as given to fetch (record, pairs, or a Headers-like object) as a plain record. */
export function headerRecord(headers: FetchInit['headers']): Record<string, string> {
  const out: Record<string, string> = {}
  if (!headers) return out
  if (Array.isArray(headers)) {
    for (const [k, v] of headers) out[k.toLowerCase()] = v
  } else if (typeof (headers as { forEach?: unknown }).forEach === 'function') {
    ;(headers as { forEach(cb: (v: string, k: string) => void): void }).forEach((v, k) => {
      out[k.toLowerCase()] = v
    })
  } else {
    for (const [k, v] of Object.entries(headers as Record<string, string>)) out[k.toLowerCase()] = v
  }
  return out
}

/** What the worker reads from a response's headers; names are case-insensitive. */
class LiteHeaders {
  constructor(private readonly raw: IncomingHttpHeaders) {}
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()]
    if (v === undefined) return null
    return Array.isArray(v) ? v.join(', ') : v
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of Object.keys(this.raw)) yield [k, this.get(k) ?? '']
  }
  *keys(): IterableIterator<string> {
    yield* Object.keys(this.raw)
  }
  *values(): IterableIterator<string> {
    for (const [, v] of this.entries()) yield v
  }
  forEach(cb: (value: string, key: string) => void): void {
    for (const [k, v] of this.entries()) cb(v, k)
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries()
  }
}

const NO_BODY = new Set([101, 204, 205, 304])

/** The response: its body is read from the socket as it arrives and kept until asked for. */
class LiteResponse {
  readonly status: number
  readonly statusText: string
  readonly ok: boolean
  readonly headers: LiteHeaders
  readonly redirected = false
  readonly type = 'basic'
  bodyUsed = false
  private readonly hasBody: boolean
  private readonly chunks: Buffer[] = []
  private ended = false
  private failure: unknown = null
  private waiters: Array<() => void> = []
  private stream: ReadableStreamDefaultController<Uint8Array> | null = null
  private streamed: ReadableStream<Uint8Array> | null = null

  constructor(
    readonly url: string,
    private readonly message: IncomingMessage,
    hasBody: boolean,
  ) {
    this.status = message.statusCode ?? 0
    this.statusText = message.statusMessage ?? ''
    this.ok = this.status >= 200 && this.status < 300
    this.headers = new LiteHeaders(message.headers)
    this.hasBody = hasBody
    message.on('data', (chunk: Buffer) => {
      if (this.stream) this.stream.enqueue(new Uint8Array(chunk))
      else this.chunks.push(chunk)
    })
    message.once('end', () => this.finish(null))
    // 'close' without 'end': the connection dropped mid-body.
    message.once('close', () => {
      if (!this.ended) this.finish(new TypeError('terminated: the connection closed before the body ended'))
    })
    message.once('error', (err) => this.finish(err))
  }

  /** Called when the request is aborted: the body errors with the abort's reason. */
  abort(reason: unknown): void {
    if (!this.ended) this.finish(reason)
    this.message.destroy()
  }

  private finish(error: unknown): void {
    if (this.ended) return
    this.ended = true
    this.failure = error
    if (this.stream) {
      if (error) this.stream.error(error)
      else this.stream.close()
    }
    for (const w of this.waiters.splice(0)) w()
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (!this.hasBody) return null
    if (this.streamed) return this.streamed
    // A web stream fed by the socket: what arrived so far first, then each chunk as it comes.
    this.streamed = new ReadableStream<Uint8Array>({
      start: (controller) => {
        for (const c of this.chunks.splice(0)) controller.enqueue(new Uint8Array(c))
        if (this.ended) {
          if (this.failure) controller.error(this.failure)
          else controller.close()
        } else this.stream = controller
      },
      pull: () => {
        this.bodyUsed = true
      },
      cancel: () => {
        this.bodyUsed = true
        this.stream = null
        this.message.destroy()
      },
    })
    return this.streamed
  }

  private async bytes(): Promise<Buffer> {
    if (this.bodyUsed || this.streamed) throw new TypeError('Body is unusable: Body has already been read')
    this.bodyUsed = true
    if (!this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve))
    if (this.failure) throw this.failure
    return Buffer.concat(this.chunks.splice(0))
  }

  async text(): Promise<string> {
    return (await this.bytes()).toString('utf8')
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const buf = await this.bytes()
    return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer
  }
}

function requestBody(body: FetchInit['body']): Buffer | null | undefined {
  if (body === undefined || body === null) return null
  if (typeof body === 'string') return Buffer.from(body)
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  if (body instanceof ArrayBuffer) return Buffer.from(body)
  // Streams, forms, blobs: not this module's (the model proxy streams; it uses the global fetch).
  return undefined
}

/** TLS only for a server reached over https: loaded on first use (it is not small either). */
async function httpsFor(): Promise<{ request: typeof httpRequest; agent: Agent }> {
  const https = await import('node:https')
  httpsAgent ??= new https.Agent({ keepAlive: true })
  return { request: https.request as typeof httpRequest, agent: httpsAgent }
}

/** `fetch` for the worker's calls to the server, over node:http (see the file comment). */
export const httpFetch: typeof fetch = (input: FetchInput, init?: FetchInit) => {
  const href = typeof input === 'string' ? input : input instanceof URL ? input.href : null
  const body = requestBody(init?.body)
  if (href === null || body === undefined || !/^https?:/i.test(href)) return fetch(input, init)
  return send(new URL(href), init ?? {}, body) as unknown as Promise<Response>
}

async function send(url: URL, init: FetchInit, body: Buffer | null): Promise<LiteResponse> {
  const signal = init.signal ?? undefined
  signal?.throwIfAborted()
  const { request, agent: pool } = url.protocol === 'http:' ? { request: httpRequest, agent } : await httpsFor()
  // Again: an abort while https was loading found no request to end.
  signal?.throwIfAborted()
  const method = (init.method ?? 'GET').toUpperCase()
  const headers = headerRecord(init.headers)
  if (body) headers['content-length'] = String(body.length)
  else if (method === 'POST' || method === 'PUT') headers['content-length'] = '0'
  const socketPath = socketRoutes.get(url.origin)
  const options: RequestOptions = {
    method,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers,
    agent: pool,
    ...(socketPath ? { socketPath } : {}),
  }
  return new Promise<LiteResponse>((resolve, reject) => {
    let response: LiteResponse | null = null
    const req = request(options, (message) => {
      response = new LiteResponse(url.href, message, method !== 'HEAD' && !NO_BODY.has(message.statusCode ?? 0))
      resolve(response)
    })
    const onAbort = () => {
      const reason: unknown = signal?.reason
      req.destroy()
      if (response) response.abort(reason)
      else reject(reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    req.once('close', () => signal?.removeEventListener('abort', onAbort))
    req.once('error', (err) => {
      if (signal?.aborted) return
      // fetch's shape for a network failure: TypeError('fetch failed') with the cause.
      reject(new TypeError(`fetch failed: ${err.message}`, { cause: err }))
    })
    req.end(body ?? undefined)
  })
}
