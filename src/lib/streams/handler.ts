import { DATABASE_RETRY_AFTER_S, databaseUnavailable } from '../db/unavailable'
import type { Logger } from '../common/logger'
import type { ReservedRouter } from './seams'
import { ProtocolError, badRequest, gone, notFound } from './errors'
import { BASE_HEADERS, H, PREFLIGHT_HEADERS, mediaTypeEssence } from './protocol'
import { START_POSITION, encodeOffset, parseOffsetParam, type Position } from './offsets'
import { mountOf, rawPathname, routeRequestPath, type RouteTarget } from './paths'
import { parseAppendHeaders, parseClosed, parseCreateHeaders } from './request-headers'
import { nodeRequestOf, nodeResponseOf, readBody } from './body'
import { buildBody } from './read-body'
import { responseCursor } from './cursor'
import { SseSession } from './sse-session'
import { headOnWire, socketSink } from './sse-sink'
import type { SseLimits, SseStats } from './sse-limits'
import { EMPTY_JSON_ARRAY } from './json-framing'
import { needsBase64 } from './sse'
import { isExpired, type AppendSpec } from './write-specs'
import type { StreamMeta } from './stream-store'
import type { StreamEngine } from './engine'
import type { LiveHub } from './live'

export interface HandlerContext {
  engine: StreamEngine
  hub: LiveHub
  /** Mount prefixes, first one canonical; a request is served under whichever it arrived on. */
  basePaths: string[]
  longPollTimeoutMs: number
  maxBodyBytes: number
  maxReadBytes: number
  sseMaxDurationMs: number
  /** Per-reader buffer bound and slow-reader cut-off (sse-limits.ts). */
  sseLimits: SseLimits
  sseStats: SseStats
  reserved?: ReservedRouter
  liveReaders: Map<number, number>
  /** Response constructor: the global one, or a faster compatible one (srvx's FastResponse). */
  Response: typeof Response
  /** SSE frames may go straight to srvx's Node response (see StreamsServerOptions). */
  nodeFastPath: boolean
  log: Logger
}

type Headers = Record<string, string>

/** How long, and how far ahead, an out-of-order producer batch may wait for its predecessors. */
const PRODUCER_REORDER_WAIT_MS = 1_000
const PRODUCER_REORDER_WINDOW = 64

/** The framework-free protocol handler: web Request in, web Response out. */
export function createHandler(ctx: HandlerContext): (req: Request) => Promise<Response> {
  const { engine, hub } = ctx

  function reply(status: number, headers: Headers = {}, body: BodyInit | null = null): Response {
    return new ctx.Response(status === 204 || status === 304 ? null : body, { status, headers: { ...BASE_HEADERS, ...headers } })
  }

  function errorReply(err: ProtocolError, method: string): Response {
    const headers: Headers = { ...err.headers }
    if (err.status === 413) headers.connection = 'close'
    if (method === 'HEAD') return reply(err.status, headers)
    headers['content-type'] = 'application/json'
    return reply(err.status, headers, JSON.stringify({ error: { code: err.code, message: err.message } }))
  }

  const readerCount = (id: number) => ctx.liveReaders.get(id) ?? 0
  const readerJoined = (id: number) => ctx.liveReaders.set(id, readerCount(id) + 1)
  const readerLeft = (id: number) => {
    const n = readerCount(id) - 1
    if (n > 0) {
      ctx.liveReaders.set(id, n)
      return
    }
    ctx.liveReaders.delete(id)
    // The TTL window restarts when the last live reader leaves (a read lasted until now).
    void (async () => {
      const meta = await engine.getById(id)
      if (meta && meta.ttlSeconds !== null) await engine.touch(meta, Date.now())
    })().catch(() => {})
  }

  /** A live, readable stream or 404/410. */
  async function readable(path: string, now: number): Promise<StreamMeta> {
    const meta = await engine.get(path)
    if (!meta) throw notFound()
    if (meta.softDeleted) throw gone()
    if (isExpired(meta, now) && readerCount(meta.id) === 0) throw meta.refCount > 0 ? gone() : notFound()
    return meta
  }

  /** Sliding TTL: reads renew the window (throttled so hot readers do not write every time). */
  function touchOnRead(meta: StreamMeta, now: number): void {
    if (meta.ttlSeconds === null) return
    const slack = Math.min(60_000, (meta.ttlSeconds * 1000) / 20)
    if (now - meta.lastAccessAt < slack) return
    void engine.touch(meta, now).catch(() => {})
  }

  // Decoded stream paths by raw request path: a hot stream's path is validated and
  // percent-decoded once, not on every append (profiled: 5-20 µs per request). Only valid stream
  // targets are kept; the map is dropped whole when full (no LRU bookkeeping on the hot path).
  const routes = new Map<string, { mount: string; target: RouteTarget }>()
  const ROUTE_CACHE_ENTRIES = 4096

  function route(pathname: string): { mount: string; target: RouteTarget } {
    const hit = routes.get(pathname)
    if (hit) return hit
    const mount = mountOf(pathname, ctx.basePaths) ?? ctx.basePaths[0]!
    const found = { mount, target: routeRequestPath(pathname, mount) }
    if (found.target.kind === 'stream') {
      if (routes.size >= ROUTE_CACHE_ENTRIES) routes.clear()
      routes.set(pathname, found)
    }
    return found
  }

  async function handle(req: Request): Promise<Response> {
    const method = req.method.toUpperCase()
    // Route on the path as sent: URL parsing would silently resolve `..` segments. The parsed
    // URL is built only by the methods that need its query or origin (srvx builds `req.url`
    // lazily, and appends never need it).
    const pathname = rawPathname(nodeRequestOf(req)?.url ?? req.url)
    const { mount, target } = route(pathname)
    if (target.kind === 'outside') return errorReply(notFound('No stream route here'), method)
    if (method === 'OPTIONS') return reply(204, { ...PREFLIGHT_HEADERS })
    if (target.kind === 'reserved') {
      if (!ctx.reserved) return errorReply(new ProtocolError(404, 'NOT_FOUND', 'No control API is mounted under __ds'), method)
      const origin = `${new URL(req.url).origin}${mount}/`
      return ctx.reserved.handle(req, target.subPath, (p) => origin + p.replace(/^\/+/, ''))
    }
    if (target.kind === 'invalid') return errorReply(badRequest('INVALID_PATH', target.reason), method)
    const path = target.path
    try {
      switch (method) {
        case 'GET':
          return await handleGet(req, new URL(req.url), path)
        case 'HEAD':
          return await handleHead(path)
        case 'PUT':
          return await handlePut(req, new URL(req.url), path)
        case 'POST':
          return await handlePost(req, path)
        case 'DELETE':
          await engine.delete(path, Date.now())
          return reply(204)
        default:
          return errorReply(
            new ProtocolError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported`, { allow: 'GET, HEAD, PUT, POST, DELETE, OPTIONS' }),
            method,
          )
      }
    } catch (err) {
      if (err instanceof ProtocolError) return errorReply(err, method)
      if (databaseUnavailable(err)) {
        ctx.log.warn({ err }, 'database unavailable')
        return errorReply(
          new ProtocolError(503, 'UNAVAILABLE', 'the database is unavailable; retry', { 'retry-after': String(DATABASE_RETRY_AFTER_S) }),
          method,
        )
      }
      ctx.log.error({ err }, 'request failed')
      return errorReply(new ProtocolError(500, 'INTERNAL', 'Internal server error'), method)
    }
  }

  async function handleHead(path: string): Promise<Response> {
    const meta = await readable(path, Date.now())
    const tail = encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos })
    const headers: Headers = {
      'content-type': meta.contentType,
      [H.nextOffset]: tail,
      'cache-control': 'no-store',
      etag: `"${meta.id}:-1:${tail}${meta.closed ? ':c' : ''}"`,
    }
    if (meta.closed) headers[H.closed] = 'true'
    if (meta.ttlSeconds !== null) headers[H.ttl] = String(meta.ttlSeconds)
    if (meta.expiresAt !== null) headers[H.expiresAt] = meta.expiresAt
    return reply(200, headers)
  }

  async function handleGet(req: Request, url: URL, path: string): Promise<Response> {
    const offsets = url.searchParams.getAll('offset')
    if (offsets.length > 1) throw badRequest('INVALID_OFFSET', 'Only one offset parameter is allowed')
    const rawOffset = offsets[0] ?? null
    if (rawOffset === '') throw badRequest('INVALID_OFFSET', 'The offset parameter is empty')
    const live = url.searchParams.get('live')
    if (live !== null && live !== 'long-poll' && live !== 'sse') throw badRequest('INVALID_LIVE_MODE', 'live must be long-poll or sse')
    if (live !== null && rawOffset === null) throw badRequest('OFFSET_REQUIRED', `live=${live} requires an offset`)
    const offset = parseOffsetParam(rawOffset)
    if (!offset) throw badRequest('INVALID_OFFSET', 'Malformed offset')
    const cursorParam = url.searchParams.get('cursor')

    const now = Date.now()
    let meta = await readable(path, now)
    touchOnRead(meta, now)
    const tail: Position = { seq: meta.tailSeq, pos: meta.tailPos }
    const start: Position = offset.kind === 'start' ? START_POSITION : offset.kind === 'now' ? tail : offset.at
    if (start.seq > meta.tailSeq) throw badRequest('OFFSET_BEYOND_TAIL', 'Offset is beyond the end of this stream')

    if (live === 'sse') {
      // Before the session's first read: other nodes' appends after it are announced here.
      if (engine.watchLive) await engine.watchLive(meta.id)
      return openSse(req, meta, start, cursorParam)
    }

    if (offset.kind === 'now' && live === null) {
      const headers: Headers = {
        'content-type': meta.contentType,
        [H.nextOffset]: encodeOffset(tail),
        [H.upToDate]: 'true',
        'cache-control': 'no-store',
      }
      if (meta.closed) headers[H.closed] = 'true'
      return reply(200, headers, meta.jsonMode ? EMPTY_JSON_ARRAY : null)
    }

    if (live === 'long-poll' && start.seq === meta.tailSeq) {
      const tailHeaders = (m: StreamMeta): Headers => {
        const h: Headers = {
          [H.nextOffset]: encodeOffset({ seq: m.tailSeq, pos: m.tailPos }),
          [H.upToDate]: 'true',
          'cache-control': 'no-store',
        }
        if (m.closed) h[H.closed] = 'true'
        else h[H.cursor] = responseCursor(cursorParam)
        return h
      }
      if (meta.closed) return reply(204, tailHeaders(meta))
      // Another node may have appended (or deleted) between our read and the watch: then
      // answer from what is there now instead of waiting.
      const watching = engine.watchLive?.(meta.id)
      const moved = watching ? (await watching)?.seq !== start.seq : false
      if (!moved) await waitForChange(meta.id, ctx.longPollTimeoutMs, req.signal)
      const after = await engine.getById(meta.id)
      if (!after || after.softDeleted) throw notFound()
      if (after.tailSeq === start.seq) return reply(204, tailHeaders(after))
      meta = after
    }
    return catchUp(req, meta, start, live === 'long-poll' ? responseCursor(cursorParam) : null)
  }

  async function catchUp(req: Request, meta: StreamMeta, start: Position, cursor: string | null): Promise<Response> {
    const end = await engine.readBoundary(meta, start, ctx.maxReadBytes)
    const upToDate = end.seq === meta.tailSeq
    const closed = Boolean(meta.closed) && upToDate
    const endToken = encodeOffset(end)
    const etag = `"${meta.id}:${encodeOffset(start)}:${endToken}${closed ? ':c' : ''}"`
    const headers: Headers = {
      'content-type': meta.contentType,
      [H.nextOffset]: endToken,
      etag,
      // Chunks short of the tail never change; the tail chunk may grow, so revalidate it.
      'cache-control': upToDate ? 'no-cache' : 'private, max-age=60, stale-while-revalidate=300',
    }
    if (upToDate) headers[H.upToDate] = 'true'
    if (closed) headers[H.closed] = 'true'
    if (cursor !== null) headers[H.cursor] = cursor
    if (req.headers.get('if-none-match') === etag) return reply(304, headers)
    return reply(200, headers, (await buildBody(engine, meta, start, end)) as BodyInit)
  }

  function waitForChange(streamId: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      readerJoined(streamId)
      let settled = false
      const settle = () => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        unsubscribe()
        signal?.removeEventListener('abort', settle)
        readerLeft(streamId)
        resolve()
      }
      const unsubscribe = hub.subscribe(streamId, settle)
      const timer = setTimeout(settle, timeoutMs)
      signal?.addEventListener('abort', settle)
    })
  }

  function openSse(req: Request, meta: StreamMeta, start: Position, cursor: string | null): Response {
    const kind = meta.jsonMode ? 'json' : needsBase64(meta.contentType) ? 'base64' : 'text'
    const res = ctx.nodeFastPath ? nodeResponseOf(req) : undefined
    if (res) {
      // An SSE response owns its connection: delimit it by closing the connection instead of
      // chunked encoding, so each frame is one plain write (not a 3-part writev).
      res.useChunkedEncodingByDefault = false
      res.shouldKeepAlive = false
    }
    const direct = res ? headOnWire(res, socketSink(res)) : undefined
    const session = new SseSession({
      store: engine,
      hub,
      streamId: meta.id,
      kind,
      start,
      clientCursor: cursor,
      chunkBytes: Math.min(ctx.maxReadBytes, 256 * 1024),
      keepAliveMs: Math.min(ctx.longPollTimeoutMs, 15_000),
      maxDurationMs: ctx.sseMaxDurationMs,
      limits: ctx.sseLimits,
      stats: ctx.sseStats,
      onOpen: () => readerJoined(meta.id),
      onClose: () => readerLeft(meta.id),
      direct,
    })
    const headers: Headers = {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    }
    if (kind === 'base64') headers[H.sseEncoding] = 'base64'
    return reply(200, headers, session.stream())
  }

  async function handlePut(req: Request, url: URL, path: string): Promise<Response> {
    const h = req.headers
    const { ttlSeconds, expiresAtMs, fork } = parseCreateHeaders(h, ctx.basePaths)
    const rawType = h.get('content-type')
    const contentType = mediaTypeEssence(rawType) ? rawType!.trim() : null
    const body = await readBody(req, ctx.maxBodyBytes)
    const closed = parseClosed(h)
    const result = await engine.create({ path, contentType, ttlSeconds, expiresAtMs, closed, body, fork }, Date.now())
    const meta = result.meta
    const headers: Headers = {
      'content-type': meta.contentType,
      [H.nextOffset]: encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos }),
    }
    if (result.status === 201) headers.location = url.origin + url.pathname
    if (meta.closed) headers[H.closed] = 'true'
    return reply(result.status, headers)
  }

  async function handlePost(req: Request, path: string): Promise<Response> {
    // The same parser as the session gate in front of us: a header means one thing to both.
    const { producer, close, contentType: rawType, streamSeq } = parseAppendHeaders(req.headers)
    const body = await readBody(req, ctx.maxBodyBytes)
    if (body.length === 0 && !close) throw badRequest('EMPTY_BODY', 'An append needs a body (or Stream-Closed: true)')
    if (body.length > 0) {
      if (rawType === null) throw badRequest('MISSING_CONTENT_TYPE', 'Content-Type is required')
      if (!mediaTypeEssence(rawType)) throw badRequest('INVALID_CONTENT_TYPE', 'Content-Type is not a media type')
    }
    const spec = { path, contentType: rawType, body, close, streamSeq, producer }
    const result = producer ? await appendInProducerOrder(spec, producer) : await engine.append(spec, Date.now())
    return reply(result.status, result.headers)
  }

  /**
   * Pipelined producer batches can arrive out of order (several connections). A batch a few
   * sequence numbers ahead waits briefly for its predecessors instead of bouncing with a 409
   * the client would retry anyway; it gets the 409 only if they do not come.
   */
  async function appendInProducerOrder(spec: AppendSpec, producer: { id: string; seq: number }) {
    const key = `${spec.path}\u0000${producer.id}`
    const deadline = Date.now() + PRODUCER_REORDER_WAIT_MS
    for (;;) {
      try {
        const result = await engine.append(spec, Date.now())
        wakeProducerWaiters(key)
        return result
      } catch (err) {
        const expected = err instanceof ProtocolError && err.code === 'SEQUENCE_GAP' ? Number(err.headers[H.producerExpectedSeq]) : NaN
        const wait = deadline - Date.now()
        if (!(expected < producer.seq && producer.seq - expected <= PRODUCER_REORDER_WINDOW && wait > 0)) throw err
        await waitForProducer(key, wait)
      }
    }
  }

  const producerWaiters = new Map<string, Set<() => void>>()

  function wakeProducerWaiters(key: string): void {
    const set = producerWaiters.get(key)
    if (!set) return
    producerWaiters.delete(key)
    for (const wake of set) wake()
  }

  function waitForProducer(key: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      let set = producerWaiters.get(key)
      if (!set) producerWaiters.set(key, (set = new Set()))
      const wake = () => {
        clearTimeout(timer)
        producerWaiters.get(key)?.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, timeoutMs)
      set.add(wake)
    })
  }

  return handle
}

