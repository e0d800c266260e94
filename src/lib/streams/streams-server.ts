import type Database from 'better-sqlite3'
import { openDatabase, type Durability, type OpenedDatabase } from '../db/connection'
import { createConsoleLogger, type Logger } from '../common/logger'
import type { ReservedRouter, StreamAccess, StreamCommitObserver, StreamLifecycleListener } from './seams'
import { LiveHub } from './live'
import { createSqliteEngine } from './sqlite-engine'
import { isExpired } from './write-specs'
import { createHandler } from './handler'
import { normaliseBasePath } from './paths'
import { encodeOffset } from './offsets'
import { DEFAULT_SSE_LIMITS, SseStats, type SseLimits, type SseStatsSnapshot } from './sse-limits'
import { StreamCompactor } from './compaction'

export type { StreamAccess, StreamLifecycleListener, ReservedRouter } from './seams'

export interface StreamsServerOptions {
  /** An opened database (shared with other modules), or a file to open (WAL, migrations applied). */
  db?: OpenedDatabase | Database.Database
  file?: string
  durability?: Durability
  /** Open `file` with locking_mode=EXCLUSIVE (sole user of the file; see openDatabase). */
  exclusive?: boolean
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

export interface StreamsServer {
  handle(req: Request): Promise<Response>
  access: StreamAccess
  addListener(listener: StreamLifecycleListener & StreamCommitObserver): () => void
  /** Mounts (or replaces) the `__ds` control router after construction. */
  setReserved(router: ReservedRouter | undefined): void
  /** Runs one expiry pass now (tests, maintenance). */
  sweepExpired(): Promise<{ expired: number; purgedRows: number }>
  /** The underlying SQLite handle (shared with modules that keep their own tables). */
  sqlite: Database.Database
  /** What open SSE responses hold now (bytes queued, stalled readers, cut-offs so far). */
  sseStats(): SseStatsSnapshot
  /** Rewrites a JSON stream's stored rows by a planner's verdict (session compaction). */
  compactor: StreamCompactor
  close(): void
}

export const DEFAULT_RETENTION_MS = 30 * 24 * 3600 * 1000

/** WAL pages between automatic checkpoints on a connection that hosts streams. */
export const WAL_AUTOCHECKPOINT_PAGES = 16_000

function isOpened(db: OpenedDatabase | Database.Database): db is OpenedDatabase {
  return 'sqlite' in db && 'close' in db && 'db' in db
}

export function createStreamsServer(opts: StreamsServerOptions): StreamsServer {
  let owned: OpenedDatabase | undefined
  let sqlite: Database.Database
  if (opts.db) sqlite = isOpened(opts.db) ? opts.db.sqlite : opts.db
  else {
    owned = openDatabase({ file: opts.file ?? ':memory:', durability: opts.durability, exclusive: opts.exclusive })
    sqlite = owned.sqlite
  }

  // Checkpoints run inside a commit, on this thread, and fsync: with appends spread over many
  // streams (a page per append) they were about half of the SQLite time at the connection's
  // 4,000-page default (specs/benchmarks.md, 2026-11-29 write path). Four times fewer of them; the
  // WAL may reach ~64 MiB before it restarts.
  sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
  const log = (opts.logger ?? createConsoleLogger()).child({ component: 'streams' })
  const hub = new LiveHub(log)
  const listeners = new Set<StreamLifecycleListener & StreamCommitObserver>(opts.listeners ?? [])
  const liveReaders = new Map<number, number>()
  const sseStats = new SseStats()
  const engine = createSqliteEngine({
    sqlite,
    hub,
    listeners,
    defaultRetentionMs: opts.defaultRetentionMs === undefined ? DEFAULT_RETENTION_MS : opts.defaultRetentionMs,
    hasLiveReaders: (id) => (liveReaders.get(id) ?? 0) > 0,
    sweepIntervalMs: opts.sweepIntervalMs ?? 30_000,
    log,
  })
  const { store, queue } = engine
  const ctx = {
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

  const access: StreamAccess = {
    describe(path) {
      const meta = store.get(path)
      if (!meta || meta.softDeleted || isExpired(meta, Date.now())) return null
      return {
        tailOffset: encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos }),
        closed: Boolean(meta.closed),
        contentType: meta.contentType,
      }
    },
    listPaths() {
      return store.listLivePaths(Date.now())
    },
    async append(path, body, contentType) {
      const result = await engine.append({ path, contentType, body, close: false, streamSeq: null, producer: null }, Date.now())
      return { tailOffset: encodeOffset({ seq: result.meta.tailSeq, pos: result.meta.tailPos }) }
    },
  }

  let closed = false
  return {
    handle,
    access,
    sqlite,
    compactor: new StreamCompactor(sqlite, store, queue),
    addListener(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    setReserved(router) {
      ctx.reserved = router
    },
    sweepExpired: () => engine.sweepExpired(),
    sseStats: () => sseStats.snapshot(),
    close() {
      if (closed) return
      closed = true
      ctx.reserved?.close()
      void engine.close()
      hub.closeAll()
      sseStats.shutdownAll()
      owned?.close()
    },
  }
}
