// The engine-independent half of a streams server: the protocol handler, live fan-out, SSE
// bookkeeping and listeners, around whichever StreamEngine stores the streams (SQLite in
// streams-server.ts, PostgreSQL in pg/pg-streams-server.ts).
import { createConsoleLogger, type Logger } from '../common/logger'
import type { StreamEngine } from './engine'
import { createHandler, type HandlerContext } from './handler'
import { LiveHub } from './live'
import { normaliseBasePath } from './paths'
import type { ReservedRouter, StreamCommitObserver, StreamLifecycleListener } from './seams'
import { DEFAULT_SSE_LIMITS, SseStats, type SseLimits, type SseStatsSnapshot } from './sse-limits'

export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000

/** Everything a streams server is configured with apart from its database. */
export interface StreamsFrontendOptions {
  /** Mount prefix of stream URLs, e.g. '/v1/stream' or '/api/streams'. */
  basePath: string
  /**
   * More prefixes serving the same streams (e.g. the protocol's conventional '/v1/stream' beside
   * '/api/streams'); control-API URLs in responses use the prefix the request came in on.
   */
  aliasBasePaths?: string[]
  longPollTimeoutMs?: number
  /** Largest accepted request body (413 above). */
  maxBodyBytes?: number
  /** Largest catch-up response; longer reads continue from Stream-Next-Offset. */
  maxReadBytes?: number
  /**
   * Retention for streams created without Stream-TTL / Stream-Expires-At, counted from
   * creation (null = keep forever). Not reported in HEAD: it is server policy, not stream
   * config. A client wanting "expire after N s idle" sends Stream-TTL itself.
   */
  defaultRetentionMs?: number | null
  /** SSE connections end after this long; clients resume from their offset. */
  sseMaxDurationMs?: number
  /** SSE backpressure: per-reader buffer bound (1 MiB) and slow-reader cut-off (30 s at the bound, 64 MiB behind). */
  sseLimits?: Partial<SseLimits>
  /** How often the expiry sweeper runs (0 disables the timer; `sweep()` still works). */
  sweepIntervalMs?: number
  reserved?: ReservedRouter
  listeners?: StreamLifecycleListener[]
  /** A Response constructor compatible with the global one (e.g. srvx's FastResponse). */
  responseClass?: typeof Response
  /**
   * Only when served by srvx's Node adapter with nothing between it and the handler (no
   * compression or body-rewriting middleware): live SSE frames are written straight to the
   * Node response, and SSE responses are delimited by connection close instead of chunked
   * encoding. Set by startStreamsHttpServer.
   */
  nodeFastPath?: boolean
  /** Where internal failures go (a listener or hook that threw, a failed request); the console when absent. */
  logger?: Logger
}

/** What an engine is built with: the node's live fan-out and listeners, and the server's policies. */
export interface EngineParts {
  hub: LiveHub
  listeners: Set<StreamLifecycleListener & StreamCommitObserver>
  defaultRetentionMs: number | null
  hasLiveReaders: (id: number) => boolean
  sweepIntervalMs: number
  log: Logger
}

/** What every streams server offers, whatever stores its streams. */
export interface StreamsCore {
  handle(req: Request): Promise<Response>
  addListener(listener: StreamLifecycleListener & StreamCommitObserver): () => void
  /** Mounts (or replaces) the `__ds` control router after construction. */
  setReserved(router: ReservedRouter | undefined): void
  /** Runs one expiry pass now (tests, maintenance). */
  sweepExpired(): Promise<{ expired: number; purgedRows: number }>
  /** What open SSE responses hold now (bytes queued, stalled readers, cut-offs so far). */
  sseStats(): SseStatsSnapshot
  close(): void | Promise<void>
}

export function buildStreamsFrontend<E extends StreamEngine>(
  opts: StreamsFrontendOptions,
  makeEngine: (parts: EngineParts) => E,
): { core: StreamsCore; engine: E; closeFrontend(): void } {
  const log = (opts.logger ?? createConsoleLogger()).child({ component: 'streams' })
  const hub = new LiveHub(log)
  const listeners = new Set<StreamLifecycleListener & StreamCommitObserver>(opts.listeners ?? [])
  const liveReaders = new Map<number, number>()
  const sseStats = new SseStats()
  const engine = makeEngine({
    hub,
    listeners,
    defaultRetentionMs: opts.defaultRetentionMs === undefined ? DEFAULT_RETENTION_MS : opts.defaultRetentionMs,
    hasLiveReaders: (id) => (liveReaders.get(id) ?? 0) > 0,
    sweepIntervalMs: opts.sweepIntervalMs ?? 30_000,
    log,
  })
  const ctx: HandlerContext = {
    engine,
    hub,
    basePaths: [opts.basePath, ...(opts.aliasBasePaths ?? [])].map(normaliseBasePath),
    longPollTimeoutMs: opts.longPollTimeoutMs ?? 30_000,
    maxBodyBytes: opts.maxBodyBytes ?? 16 * 1024 * 1024,
    maxReadBytes: opts.maxReadBytes ?? 32 * 1024 * 1024,
    sseMaxDurationMs: opts.sseMaxDurationMs ?? 60_000,
    sseLimits: { ...DEFAULT_SSE_LIMITS, ...opts.sseLimits },
    sseStats,
    reserved: opts.reserved,
    liveReaders,
    Response: opts.responseClass ?? globalThis.Response,
    nodeFastPath: opts.nodeFastPath ?? false,
    log,
  }
  const handle = createHandler(ctx)
  const core: StreamsCore = {
    handle,
    addListener(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setReserved(router) {
      ctx.reserved = router
    },
    sweepExpired: () => engine.sweepExpired(),
    sseStats: () => sseStats.snapshot(),
    close: () => engine.close(),
  }
  return {
    core,
    engine,
    closeFrontend() {
      ctx.reserved?.close()
      hub.closeAll()
      sseStats.shutdownAll()
    },
  }
}
