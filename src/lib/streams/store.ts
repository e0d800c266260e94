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

/**
 * Read side of the SQLite store plus the prepared statements the write side uses. All calls
 * are synchronous (better-sqlite3); rows are immutable once written, so paged reads of a fixed
 * range are consistent without holding a transaction open.
 */
export class StreamStore {
  readonly sqlite: Database.Database
  private readonly byPath: Database.Statement<[string], StreamMeta>
  private readonly byId: Database.Statement<[number], StreamMeta>
  private readonly rowsStmt: Database.Statement<[number, number, number, number], MessageRow>
  private readonly firstOverStmt: Database.Statement<[number, number, number, number], MessageRow>
  private readonly lastBeforeStmt: Database.Statement<[number, number, number], MessageRow>
  private readonly listPathsStmt: Database.Statement<[number], { path: string }>

  constructor(sqlite: Database.Database) {
    this.sqlite = sqlite
    this.byPath = sqlite.prepare(`SELECT ${META_COLUMNS} FROM streams WHERE path = ?`)
    this.byId = sqlite.prepare(`SELECT ${META_COLUMNS} FROM streams WHERE id = ?`)
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
    this.listPathsStmt = sqlite.prepare(
      `SELECT path FROM streams WHERE soft_deleted = 0 AND (deadline_at IS NULL OR deadline_at > ?)`,
    )
  }

  get(path: string): StreamMeta | undefined {
    return this.byPath.get(path)
  }

  getById(id: number): StreamMeta | undefined {
    return this.byId.get(id)
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
      cur = this.byId.get(cur.forkSourceId)
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
}
