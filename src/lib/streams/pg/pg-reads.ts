/**
 * Read side of the PostgreSQL engine: the same queries as StreamStore (stream-store.ts) over
 * the same tables, asynchronous, and without a metadata cache, since other nodes write too:
 * every read sees the committed row. `q` is the pool, or a transaction when a writer reads
 * the rows it is about to change.
 */
import type { Sql, TransactionSql } from 'postgres'
import type { Position } from '../offsets'
import type { MessageRow, StreamMeta } from '../stream-store'
import { PgReadAhead } from './pg-read-ahead'

export type Queryable = Sql | TransactionSql

const META_COLUMNS = `id, path, content_type AS "contentType", json_mode AS "jsonMode", created_at AS "createdAt",
  ttl_seconds AS "ttlSeconds", expires_at AS "expiresAt", last_access_at AS "lastAccessAt",
  deadline_at AS "deadlineAt", tail_seq AS "tailSeq", tail_pos AS "tailPos", closed,
  closed_by_producer AS "closedByProducer", closed_by_epoch AS "closedByEpoch",
  closed_by_seq AS "closedBySeq", last_stream_seq AS "lastStreamSeq",
  fork_source_id AS "forkSourceId", fork_seq AS "forkSeq", fork_pos AS "forkPos",
  fork_offset AS "forkOffset", fork_sub_offset AS "forkSubOffset", ref_count AS "refCount",
  soft_deleted AS "softDeleted"`

const COMMA = Buffer.from(',')
const NOTHING = Buffer.alloc(0)

/** A contiguous run of sequence numbers stored under one stream id (fork chains have several). */
interface Segment {
  streamId: number
  afterSeq: number
  throughSeq: number
}

async function one<T>(q: Queryable, text: string, args: unknown[]): Promise<T | undefined> {
  // Why the cast: postgres.js types parameters as its own union; ours are numbers, strings and Buffers.
  const rows = await q.unsafe(text, args as never[], { prepare: true })
  return rows[0] as T | undefined
}

async function all<T>(q: Queryable, text: string, args: unknown[]): Promise<T[]> {
  const rows = await q.unsafe(text, args as never[], { prepare: true })
  return rows as unknown as T[]
}

function withSaved(meta: StreamMeta | undefined): StreamMeta | undefined {
  if (meta) meta.savedDeadlineAt = meta.deadlineAt
  return meta
}

export class PgReads {
  private pieces: PgReadAhead | undefined

  constructor(private readonly q: Queryable) {}

  async get(path: string, forUpdate = false): Promise<StreamMeta | undefined> {
    return withSaved(await one<StreamMeta>(this.q, `SELECT ${META_COLUMNS} FROM streams WHERE path = $1${forUpdate ? ' FOR UPDATE' : ''}`, [path]))
  }

  async getById(id: number, forUpdate = false): Promise<StreamMeta | undefined> {
    return withSaved(await one<StreamMeta>(this.q, `SELECT ${META_COLUMNS} FROM streams WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]))
  }

  async listLivePaths(now: number): Promise<string[]> {
    const rows = await all<{ path: string }>(
      this.q,
      `SELECT path FROM streams WHERE soft_deleted = 0 AND (deadline_at IS NULL OR deadline_at > $1)`,
      [now],
    )
    return rows.map((r) => r.path)
  }

  /** The stream's logical view as segments, root source first. */
  private async segments(meta: StreamMeta): Promise<Segment[]> {
    if (meta.forkSourceId === null) return [{ streamId: meta.id, afterSeq: 0, throughSeq: Number.MAX_SAFE_INTEGER }]
    const out: Segment[] = []
    let cur: StreamMeta | undefined = meta
    let through = Number.MAX_SAFE_INTEGER
    while (cur) {
      const after = cur.forkSourceId === null ? 0 : (cur.forkSeq ?? 0)
      if (through > after) out.push({ streamId: cur.id, afterSeq: after, throughSeq: through })
      if (cur.forkSourceId === null) break
      through = cur.forkSeq ?? 0
      cur = await this.getById(cur.forkSourceId)
    }
    return out.reverse()
  }

  async readRows(meta: StreamMeta, afterSeq: number, throughSeq: number, limit: number): Promise<MessageRow[]> {
    const out: MessageRow[] = []
    for (const seg of await this.segments(meta)) {
      const lo = Math.max(afterSeq, seg.afterSeq)
      const hi = Math.min(throughSeq, seg.throughSeq)
      if (hi <= lo) continue
      const rows = await all<MessageRow>(
        this.q,
        `SELECT seq, end_pos AS "endPos", count, data FROM messages
         WHERE stream_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4`,
        [seg.streamId, lo, hi, limit - out.length],
      )
      out.push(...rows)
      if (out.length >= limit) break
    }
    return out
  }

  /**
   * Stored bytes of appends afterSeq < seq <= throughSeq, one buffer per segment (JSON rows
   * comma-joined). The rows are aggregated from an ordered subquery, not `string_agg(… ORDER BY
   * seq)`, which sorts again on PostgreSQL 15 (pg-read-ahead.ts).
   */
  async readConcat(meta: StreamMeta, afterSeq: number, throughSeq: number): Promise<Buffer[]> {
    const found = this.pieces?.take(meta, afterSeq, throughSeq)
    if (found) return found
    const sep = meta.jsonMode ? COMMA : NOTHING
    const out: Buffer[] = []
    for (const seg of await this.segments(meta)) {
      const lo = Math.max(afterSeq, seg.afterSeq)
      const hi = Math.min(throughSeq, seg.throughSeq)
      if (hi <= lo) continue
      const data = meta.jsonMode ? await this.jsonText(seg.streamId, lo, hi) : undefined
      if (data !== undefined) {
        if (data.length > 0) out.push(data)
        continue
      }
      const row = await one<{ data: Buffer | null }>(
        this.q,
        `SELECT string_agg(data, $4::bytea) AS data FROM (SELECT data FROM messages WHERE stream_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq) m`,
        [seg.streamId, lo, hi, sep],
      )
      if (row?.data && row.data.length > 0) out.push(row.data)
    }
    return out
  }

  /**
   * A JSON stream's rows comma-joined, fetched as text: bytea leaves the server hex-encoded
   * (twice the bytes, and the encoding was most of a catch-up read's cost), while JSON rows are
   * valid UTF-8 (json-framing.ts refuses anything else) and can travel as they are. `raw()`
   * hands over the wire bytes, so nothing is decoded or re-encoded here either. Undefined when
   * PostgreSQL refuses the conversion (a row that is not UTF-8): then the bytea path reads it.
   */
  private async jsonText(streamId: number, lo: number, hi: number): Promise<Buffer | undefined> {
    try {
      const rows = await this.q
        .unsafe(
          `SELECT convert_from(string_agg(data, ','::bytea), 'UTF8') FROM (SELECT data FROM messages WHERE stream_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq) m`,
          [streamId, lo, hi],
          { prepare: true },
        )
        .raw()
      const data = rows[0]?.[0]
      return data ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : NOTHING
    } catch (err) {
      if (err instanceof Error && err.name === 'PostgresError') return undefined
      throw err
    }
  }

  /** End of a bounded read from `from` (see StreamStore.readBoundary). */
  async readBoundary(meta: StreamMeta, from: Position, maxBytes: number): Promise<Position> {
    if (meta.tailPos - from.pos <= maxBytes || meta.tailSeq - from.seq <= 1) return { seq: meta.tailSeq, pos: meta.tailPos }
    if (PgReadAhead.applies(meta, maxBytes)) {
      // A piece of a long read: its end and its bytes in one query, the next piece read ahead.
      this.pieces ??= new PgReadAhead(this.q)
      const end = await this.pieces.boundary(meta, from, maxBytes)
      if (end) return end
    }
    if (meta.forkSourceId === null) return this.boundaryOfOne(meta, from, maxBytes)
    const segs = await this.segments(meta)
    let over: { seq: number; endPos: number } | undefined
    for (const seg of segs) {
      const lo = Math.max(from.seq, seg.afterSeq)
      const hi = Math.min(meta.tailSeq, seg.throughSeq)
      if (hi <= lo) continue
      over = await one(
        this.q,
        `SELECT seq, end_pos AS "endPos" FROM messages
         WHERE stream_id = $1 AND seq > $2 AND seq <= $3 AND end_pos > $4 ORDER BY seq LIMIT 1`,
        [seg.streamId, lo, hi, from.pos + maxBytes],
      )
      if (over) break
    }
    if (!over) return { seq: meta.tailSeq, pos: meta.tailPos }
    if (over.seq <= from.seq + 1) return { seq: over.seq, pos: over.endPos }
    for (let i = segs.length - 1; i >= 0; i--) {
      const seg = segs[i]!
      const lo = Math.max(from.seq, seg.afterSeq)
      const hi = Math.min(over.seq, seg.throughSeq + 1)
      if (hi <= lo + 1) continue
      const prev = await one<{ seq: number; endPos: number }>(
        this.q,
        `SELECT seq, end_pos AS "endPos" FROM messages
         WHERE stream_id = $1 AND seq > $2 AND seq < $3 ORDER BY seq DESC LIMIT 1`,
        [seg.streamId, lo, hi],
      )
      if (prev) return { seq: prev.seq, pos: prev.endPos }
    }
    return { seq: over.seq, pos: over.endPos }
  }

  /**
   * readBoundary for a stream that is not a fork, in one round trip: the first append ending
   * past the budget and the append before it, found together (a catch-up read asks this once
   * per chunk, so each round trip saved is one per chunk).
   */
  private async boundaryOfOne(meta: StreamMeta, from: Position, maxBytes: number): Promise<Position> {
    const row = await one<{ seq: number | null; endPos: number | null; prevSeq: number | null; prevPos: number | null }>(
      this.q,
      `SELECT o.seq, o.end_pos AS "endPos", p.seq AS "prevSeq", p.end_pos AS "prevPos"
       FROM (SELECT seq, end_pos FROM messages WHERE stream_id = $1 AND seq > $2 AND seq <= $3 AND end_pos > $4
             ORDER BY seq LIMIT 1) o
       LEFT JOIN LATERAL (SELECT seq, end_pos FROM messages WHERE stream_id = $1 AND seq > $2 AND seq < o.seq
             ORDER BY seq DESC LIMIT 1) p ON true`,
      [meta.id, from.seq, meta.tailSeq, from.pos + maxBytes],
    )
    if (!row || row.seq === null || row.endPos === null) return { seq: meta.tailSeq, pos: meta.tailPos }
    if (row.seq <= from.seq + 1 || row.prevSeq === null || row.prevPos === null) return { seq: row.seq, pos: row.endPos }
    return { seq: row.prevSeq, pos: row.prevPos }
  }

  /** The append right after `after` in the stream's logical view (for sub-offset forks). */
  async rowAfter(meta: StreamMeta, after: Position): Promise<MessageRow | undefined> {
    return (await this.readRows(meta, after.seq, meta.tailSeq, 1))[0]
  }

  /** Whether `at` is an offset of this stream (see StreamStore.isPosition). */
  async isPosition(meta: StreamMeta, at: Position): Promise<boolean> {
    if (at.seq === 0) return at.pos === 0
    if (at.seq === meta.tailSeq) return at.pos === meta.tailPos
    const row = (await this.readRows(meta, at.seq - 1, at.seq, 1))[0]
    if (row && row.seq === at.seq) return row.endPos === at.pos
    if (at.seq <= 0 || at.seq > meta.tailSeq || at.pos < at.seq) return false
    const next = row ?? (await this.readRows(meta, at.seq, meta.tailSeq, 1))[0]
    return next !== undefined && at.pos <= next.endPos - (next.seq - at.seq)
  }
}
