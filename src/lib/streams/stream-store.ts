import type Database from 'better-sqlite3'
import type { Position } from './offsets'

/** A stream's metadata row (see src/lib/db/schema/streams.ts). */
export interface StreamMeta {
  id: number
  path: string
  contentType: string
  jsonMode: number
  createdAt: number
  ttlSeconds: number | null
  expiresAt: string | null
  lastAccessAt: number
  deadlineAt: number | null
  tailSeq: number
  tailPos: number
  closed: number
  closedByProducer: string | null
  closedByEpoch: number | null
  closedBySeq: number | null
  lastStreamSeq: string | null
  forkSourceId: number | null
  forkSeq: number | null
  forkPos: number | null
  forkOffset: string | null
  forkSubOffset: number | null
  refCount: number
  softDeleted: number
  /** deadline_at as last written to the file (the in-memory deadline may be newer). */
  savedDeadlineAt?: number | null
}

export interface MessageRow {
  seq: number
  endPos: number
  count: number
  data: Buffer
}

/** A contiguous run of sequence numbers stored under one stream id (fork chains have several). */
interface Segment {
  streamId: number
  /** Exclusive lower bound. */
  afterSeq: number
  /** Inclusive upper bound. */
  throughSeq: number
}

const META_COLUMNS = `id, path, content_type AS contentType, json_mode AS jsonMode, created_at AS createdAt,
  ttl_seconds AS ttlSeconds, expires_at AS expiresAt, last_access_at AS lastAccessAt,
  deadline_at AS deadlineAt, tail_seq AS tailSeq, tail_pos AS tailPos, closed,
  closed_by_producer AS closedByProducer, closed_by_epoch AS closedByEpoch,
  closed_by_seq AS closedBySeq, last_stream_seq AS lastStreamSeq,
  fork_source_id AS forkSourceId, fork_seq AS forkSeq, fork_pos AS forkPos,
  fork_offset AS forkOffset, fork_sub_offset AS forkSubOffset, ref_count AS refCount,
  soft_deleted AS softDeleted`

/** Metadata rows kept in memory (most recently used); each is a few hundred bytes. */
const META_CACHE_ENTRIES = 10_000

/**
 * Read side of the SQLite store. All calls are synchronous (better-sqlite3); rows are immutable
 * once written, so paged reads of a fixed range are consistent without holding a transaction.
 *
 * Stream metadata is cached (bounded LRU) and the cached objects are the source of truth for
 * the hot fields: this process is the only writer, and the writer updates them in place after
 * its statements succeed. The tail is not rewritten on every append (that would dirty the
 * streams page in every commit): it is `max(streams.tail_*, last own message)` when loaded.
 */
export class StreamStore {
  readonly sqlite: Database.Database
  private readonly byPathStmt: Database.Statement<[string], StreamMeta>
  private readonly byIdStmt: Database.Statement<[number], StreamMeta>
  private readonly lastRowStmt: Database.Statement<[number], { seq: number; endPos: number }>
  private readonly cacheByPath = new Map<string, StreamMeta>()
  private readonly cacheById = new Map<number, StreamMeta>()
  private readonly rowsStmt: Database.Statement<[number, number, number, number], MessageRow>
  private readonly firstOverStmt: Database.Statement<[number, number, number, number], MessageRow>
  private readonly lastBeforeStmt: Database.Statement<[number, number, number], MessageRow>
  private readonly listPathsStmt: Database.Statement<[number], { path: string }>
  private readonly concatStmts: Record<'json' | 'bytes', Database.Statement<[number, number, number], Buffer | null>>

  constructor(sqlite: Database.Database) {
    this.sqlite = sqlite
    this.byPathStmt = sqlite.prepare(`SELECT ${META_COLUMNS} FROM streams WHERE path = ?`)
    this.byIdStmt = sqlite.prepare(`SELECT ${META_COLUMNS} FROM streams WHERE id = ?`)
    this.lastRowStmt = sqlite.prepare(`SELECT seq, end_pos AS endPos FROM messages WHERE stream_id = ? ORDER BY seq DESC LIMIT 1`)
    this.rowsStmt = sqlite.prepare(
      `SELECT seq, end_pos AS endPos, count, data FROM messages
       WHERE stream_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
    )
    this.firstOverStmt = sqlite.prepare(
      `SELECT seq, end_pos AS endPos, count, x'' AS data FROM messages
       WHERE stream_id = ? AND seq > ? AND seq <= ? AND end_pos > ? ORDER BY seq LIMIT 1`,
    )
    this.lastBeforeStmt = sqlite.prepare(
      `SELECT seq, end_pos AS endPos, count, x'' AS data FROM messages
       WHERE stream_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT 1`,
    )
    // One aggregate per segment instead of one JS object per row: SQLite concatenates the
    // blobs (binary-safe with CAST AS BLOB) in primary-key order from the ordered subquery.
    const concat = (sep: string) =>
      sqlite
        .prepare<[number, number, number], Buffer | null>(
          `SELECT CAST(group_concat(data, '${sep}') AS BLOB) FROM
             (SELECT data FROM messages WHERE stream_id = ? AND seq > ? AND seq <= ? ORDER BY seq)`,
        )
        .pluck()
    this.concatStmts = { json: concat(','), bytes: concat('') }
    this.listPathsStmt = sqlite.prepare(`SELECT path FROM streams WHERE soft_deleted = 0 AND (deadline_at IS NULL OR deadline_at > ?)`)
  }

  get(path: string): StreamMeta | undefined {
    const hit = this.cacheByPath.get(path)
    if (hit) {
      this.cacheByPath.delete(path)
      this.cacheByPath.set(path, hit)
      return hit
    }
    return this.remember(this.byPathStmt.get(path))
  }

  getById(id: number): StreamMeta | undefined {
    const hit = this.cacheById.get(id)
    if (hit) return hit
    return this.remember(this.byIdStmt.get(id))
  }

  private remember(meta: StreamMeta | undefined): StreamMeta | undefined {
    if (!meta) return undefined
    meta.savedDeadlineAt = meta.deadlineAt
    const last = this.lastRowStmt.get(meta.id)
    if (last && last.seq > meta.tailSeq) {
      meta.tailSeq = last.seq
      meta.tailPos = last.endPos
    }
    this.cacheByPath.set(meta.path, meta)
    this.cacheById.set(meta.id, meta)
    if (this.cacheByPath.size > META_CACHE_ENTRIES) {
      const oldest = this.cacheByPath.values().next().value as StreamMeta
      this.forget(oldest.id)
    }
    return meta
  }

  /** Drops a stream's cached metadata (after create, delete, ref-count changes). */
  forget(id: number): void {
    const meta = this.cacheById.get(id)
    if (!meta) return
    this.cacheById.delete(id)
    if (this.cacheByPath.get(meta.path) === meta) this.cacheByPath.delete(meta.path)
  }

  /** Drops every cached row (after a failed commit: memory may be ahead of the file). */
  forgetAll(): void {
    this.cacheByPath.clear()
    this.cacheById.clear()
  }

  listLivePaths(now: number): string[] {
    return this.listPathsStmt.all(now).map((r) => r.path)
  }

  /** The stream's logical view as segments, root source first. */
  private segments(meta: StreamMeta): Segment[] {
    if (meta.forkSourceId === null) return [{ streamId: meta.id, afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER }]
    const out: Segment[] = []
    let cur: StreamMeta | undefined = meta
    let through = Number.MAX_SAFE_INTEGER
    while (cur) {
      const after = cur.forkSourceId === null ? 0 : (cur.forkSeq ?? 0)
      if (through > after) out.push({ streamId: cur.id, afterSeq: after, throughSeq: through })
      if (cur.forkSourceId === null) break
      through = cur.forkSeq ?? 0
      cur = this.getById(cur.forkSourceId)
    }
    return out.reverse()
  }

  /** Rows with afterSeq < seq <= throughSeq across the fork chain, at most `limit` rows. */
  readRows(meta: StreamMeta, afterSeq: number, throughSeq: number, limit: number): MessageRow[] {
    const out: MessageRow[] = []
    for (const seg of this.segments(meta)) {
      const lo = Math.max(afterSeq, seg.afterSeq)
      const hi = Math.min(throughSeq, seg.throughSeq)
      if (hi <= lo) continue
      const rows = this.rowsStmt.all(seg.streamId, lo, hi, limit - out.length)
      for (const r of rows) out.push(r)
      if (out.length >= limit) break
    }
    return out
  }

  /**
   * The stored bytes of appends afterSeq < seq <= throughSeq, one buffer per fork segment
   * touched. JSON rows are joined with commas (so the pieces need only `[`, `,` and `]`).
   */
  readConcat(meta: StreamMeta, afterSeq: number, throughSeq: number): Buffer[] {
    const stmt = meta.jsonMode ? this.concatStmts.json : this.concatStmts.bytes
    if (meta.forkSourceId === null) {
      const one = stmt.get(meta.id, afterSeq, throughSeq)
      return one ? [one] : []
    }
    const out: Buffer[] = []
    for (const seg of this.segments(meta)) {
      const lo = Math.max(afterSeq, seg.afterSeq)
      const hi = Math.min(throughSeq, seg.throughSeq)
      if (hi <= lo) continue
      const part = stmt.get(seg.streamId, lo, hi)
      if (part && part.length > 0) out.push(part)
    }
    return out
  }

  /**
   * End of a bounded read starting at `from`: the tail if it is within `maxBytes`, else the
   * last append boundary within budget (always at least one append).
   */
  readBoundary(meta: StreamMeta, from: Position, maxBytes: number): Position {
    if (meta.tailPos - from.pos <= maxBytes || meta.tailSeq - from.seq <= 1) {
      return { seq: meta.tailSeq, pos: meta.tailPos }
    }
    const segs = this.segments(meta)
    let over: MessageRow | undefined
    for (const seg of segs) {
      const lo = Math.max(from.seq, seg.afterSeq)
      const hi = Math.min(meta.tailSeq, seg.throughSeq)
      if (hi <= lo) continue
      over = this.firstOverStmt.get(seg.streamId, lo, hi, from.pos + maxBytes)
      if (over) break
    }
    if (!over) return { seq: meta.tailSeq, pos: meta.tailPos }
    if (over.seq <= from.seq + 1) return { seq: over.seq, pos: over.endPos }
    // The boundary is the append just before `over`, which may live in an earlier segment.
    for (let i = segs.length - 1; i >= 0; i--) {
      const seg = segs[i]!
      const lo = Math.max(from.seq, seg.afterSeq)
      const hi = Math.min(over.seq, seg.throughSeq + 1)
      if (hi <= lo + 1) continue
      const prev = this.lastBeforeStmt.get(seg.streamId, lo, hi)
      if (prev) return { seq: prev.seq, pos: prev.endPos }
    }
    return { seq: over.seq, pos: over.endPos }
  }

  /** The append right after `after` in the stream's logical view (for sub-offset forks). */
  rowAfter(meta: StreamMeta, after: Position): MessageRow | undefined {
    return this.readRows(meta, after.seq, meta.tailSeq, 1)[0]
  }

  /** Byte position at the end of append `seq` (0 for the start), or null if it does not exist. */
  positionOf(meta: StreamMeta, seq: number): number | null {
    if (seq === 0) return 0
    if (seq === meta.tailSeq) return meta.tailPos
    const row = this.readRows(meta, seq - 1, seq, 1)[0]
    return row ? row.endPos : null
  }

  /**
   * Whether `at` is an offset of this stream. The row of an offset may have been removed by
   * compaction (src/lib/streams/compaction.ts), which keeps every other row's seq and end_pos:
   * then `at` must fit between the neighbours (each append is at least one byte).
   */
  isPosition(meta: StreamMeta, at: Position): boolean {
    const exact = this.positionOf(meta, at.seq)
    if (exact !== null) return exact === at.pos
    if (at.seq <= 0 || at.seq > meta.tailSeq || at.pos < at.seq) return false
    const next = this.readRows(meta, at.seq, meta.tailSeq, 1)[0]
    return next !== undefined && at.pos <= next.endPos - (next.seq - at.seq)
  }
}
