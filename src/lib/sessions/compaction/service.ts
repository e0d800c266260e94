/**
 * Session compaction as a service: applies the planner (plan.ts) to a session's stream through
 * the built-in store's executor (src/lib/streams/compaction.ts). The monitor calls `maybeCompact`
 * for live sessions (at most every interval, and only once enough new bytes accumulated) and
 * `compact` once when it ends a session; admins call `compact` through the API. With an external
 * streams server (TETHER_STREAMS_URL) there is no executor: compaction is off and says so.
 */
import { sessionStreamPath } from '../../common/session-contract'
import type { Logger } from '../../common/logger'
import type { CompactionResult, StreamCompaction } from '../../streams/compaction'
import { ProtocolError } from '../../streams/errors'
import { HttpError } from '../http'
import { type CompactionPolicy, planCompaction } from './plan'

export interface CompactionSettings extends CompactionPolicy {
  /** Minimum time between two compactions of one live session (0 = only at the end and on request). */
  intervalMs: number
  /** A live session is compacted again only once this many bytes were appended since the last time. */
  minNewBytes: number
}

export const DEFAULT_COMPACTION: CompactionSettings = {
  chunks: true,
  chunkGraceMs: 60_000,
  presenceWindowMs: 5 * 60_000,
  terminalOutputLines: 10_000,
  terminalOutputBytes: 8 * 1024 * 1024,
  terminalInputLines: 2_000,
  intervalMs: 60_000,
  minNewBytes: 256 * 1024,
}

export const EXTERNAL_STORE_REASON = 'compaction needs the built-in streams store; this server uses an external one (TETHER_STREAMS_URL)'

export interface SessionCompactionOptions {
  /** The built-in store's executor; null with an external streams server. */
  compactor: StreamCompaction | null
  settings?: Partial<CompactionSettings>
  now: () => number
  logger: Logger
}

export interface CompactionReport {
  before: { bytes: number; events: number }
  after: { bytes: number; events: number }
}

export class SessionCompaction {
  readonly settings: CompactionSettings
  /** Per session: when it was last compacted and its stored size right after. */
  private readonly last = new Map<string, { at: number; bytes: number }>()

  constructor(private readonly opts: SessionCompactionOptions) {
    this.settings = { ...DEFAULT_COMPACTION, ...opts.settings }
    if (!opts.compactor) opts.logger.info(EXTERNAL_STORE_REASON)
  }

  get available(): boolean {
    return this.opts.compactor !== null
  }

  /**
   * Compacts now; 501 with the reason when the store cannot. `ended`: the session's stream is
   * closed, so no retry can arrive any more and finished messages fold without the grace period.
   */
  async compact(sessionId: string, opts: { ended?: boolean } = {}): Promise<CompactionReport> {
    const compactor = this.opts.compactor
    if (!compactor) throw new HttpError(501, EXTERNAL_STORE_REASON)
    const now = this.opts.now()
    const policy = opts.ended ? { ...this.settings, chunkGraceMs: 0 } : this.settings
    let result: CompactionResult
    try {
      result = await compactor.compact(sessionStreamPath(sessionId), (events) => planCompaction(events, policy, now))
    } catch (err) {
      if (err instanceof ProtocolError) throw new HttpError(err.status === 404 ? 404 : 409, err.message)
      throw err
    }
    this.last.set(sessionId, { at: now, bytes: result.after.bytes })
    this.opts.logger.info(
      { sessionId, before: result.before, after: result.after, rowsDeleted: result.rowsDeleted, rowsRewritten: result.rowsRewritten },
      'session stream compacted',
    )
    return { before: result.before, after: result.after }
  }

  /** Compacts a live session when the interval passed and enough bytes were appended since last time. */
  async maybeCompact(sessionId: string): Promise<CompactionReport | null> {
    const compactor = this.opts.compactor
    if (!compactor || this.settings.intervalMs <= 0) return null
    const prev = this.last.get(sessionId)
    if (prev && this.opts.now() - prev.at < this.settings.intervalMs) return null
    const size = await compactor.size(sessionStreamPath(sessionId))
    if (size.bytes - (prev?.bytes ?? 0) < this.settings.minNewBytes) return null
    return this.compact(sessionId)
  }

  /** Compacts a session that just ended, in the background (failures are logged, not thrown). */
  compactEnded(sessionId: string): void {
    if (!this.available) return
    this.compact(sessionId, { ended: true })
      .catch((err: unknown) => this.opts.logger.warn({ err, sessionId }, 'could not compact an ended session stream'))
      .finally(() => this.forget(sessionId))
  }

  /** Forget a removed session. */
  forget(sessionId: string): void {
    this.last.delete(sessionId)
  }
}
