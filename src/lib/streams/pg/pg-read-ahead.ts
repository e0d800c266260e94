/**
 * Catch-up reads in pieces on PostgreSQL (issue 14 bar 4: catch-up at least 80 MB/s). A long
 * read asks, per piece, readBoundary then readConcat (read-body.ts, sse-session.ts): two round
 * trips in a row, and the database idle while the piece is sent. Here one query finds the
 * piece's end and returns its bytes together; readConcat then hands over those bytes, and
 * starts the query for the next piece, so the database reads piece n+1 while piece n is on
 * the wire. Only for streams that are not forks (one segment) and small budgets (pieces, not a
 * whole 32 MB response); anything else takes PgReads' ordinary queries.
 *
 * The bytes are those of the rows as one statement saw them: the same a readConcat right
 * after would return (rows are written once; a compaction rewrite keeps every offset). A
 * piece read ahead and never asked for is dropped after a few seconds, and at most
 * MAX_PIECES wait at a time, so memory stays bounded by a few budgets.
 */
import type { Position } from '../offsets'
import type { StreamMeta } from '../stream-store'
import type { Sql, TransactionSql } from 'postgres'

/** Budgets up to this use combined pieces (read-body.ts asks 1 MB, SSE 256 KB). */
export const PIECE_MAX_BYTES = 4 << 20
const MAX_PIECES = 16
const KEEP_MS = 5_000

interface Piece {
  end: Position
  data: Buffer
}

/**
 * The piece's end: the last append ending within the budget, or the first append alone when
 * it does not fit (as PgReads.boundaryOfOne), and the bytes of the appends up to it, joined
 * with $5 (',' for JSON, nothing otherwise). $3 is the stream's tail seq. The rows come from
 * an ordered subquery (the primary key's order, no sort) rather than `string_agg(… ORDER BY
 * seq)`, which on PostgreSQL 15 sorts its input again: a third of the query's time. PostgreSQL
 * aggregates a sorted subquery's rows in that order (its documentation's way to order xmlagg).
 */
const PIECE_SQL = (asText: boolean) => `
  SELECT max(m.seq) AS seq, max(m.end_pos) AS "endPos",
    ${asText ? `convert_from(string_agg(m.data, $5::bytea), 'UTF8')` : `string_agg(m.data, $5::bytea)`} AS data
  FROM (SELECT seq, end_pos, data FROM messages
    WHERE stream_id = $1 AND seq > $2 AND seq <= (
      SELECT CASE WHEN o.seq IS NULL THEN $3 WHEN o.seq <= f.seq THEN o.seq ELSE o.seq - 1 END
      FROM (SELECT seq FROM messages WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT 1) f
      LEFT JOIN (SELECT seq FROM messages WHERE stream_id = $1 AND seq > $2 AND seq <= $3 AND end_pos > $4 ORDER BY seq LIMIT 1) o ON true)
    ORDER BY seq) m`

const COMMA = Buffer.from(',')
const NOTHING = Buffer.alloc(0)

export class PgReadAhead {
  /** Pieces by where they start (`id:seq:pos:budget`), read or being read. */
  private readonly ahead = new Map<string, Promise<Piece | undefined>>()
  /** Bytes of a piece whose end readBoundary returned, by `id:after:through`, for readConcat. */
  private readonly found = new Map<string, Piece>()

  constructor(private readonly q: Sql | TransactionSql) {}

  /** Whether a read of this stream with this budget goes by pieces here. */
  static applies(meta: StreamMeta, maxBytes: number): boolean {
    return meta.forkSourceId === null && maxBytes <= PIECE_MAX_BYTES
  }

  /** The piece's end, its bytes kept for readConcat; undefined when this read cannot be done here. */
  async boundary(meta: StreamMeta, from: Position, maxBytes: number): Promise<Position | undefined> {
    const key = `${meta.id}:${from.seq}:${from.pos}:${maxBytes}`
    const pending = this.ahead.get(key)
    this.ahead.delete(key)
    let piece = pending ? await pending.catch(() => undefined) : undefined
    // A piece read ahead against an older tail stops short of it: read the piece again.
    if (piece && piece.end.seq > meta.tailSeq) piece = undefined
    piece ??= await this.read(meta, from, maxBytes)
    if (!piece) return undefined
    this.keep(this.found, `${meta.id}:${from.seq}:${piece.end.seq}`, piece)
    if (piece.end.seq < meta.tailSeq) this.readAhead(meta, piece.end, maxBytes)
    return piece.end
  }

  /** The bytes boundary() found for exactly this range, once; undefined otherwise. */
  take(meta: StreamMeta, afterSeq: number, throughSeq: number): Buffer[] | undefined {
    const key = `${meta.id}:${afterSeq}:${throughSeq}`
    const piece = this.found.get(key)
    if (!piece) return undefined
    this.found.delete(key)
    return piece.data.length > 0 ? [piece.data] : []
  }

  private readAhead(meta: StreamMeta, from: Position, maxBytes: number): void {
    if (meta.tailPos - from.pos <= maxBytes) return // the last piece: PgReads answers it without a query
    const read = this.read(meta, from, maxBytes)
    read.catch(() => {}) // whoever takes it sees the failure and reads again
    this.keep(this.ahead, `${meta.id}:${from.seq}:${from.pos}:${maxBytes}`, read)
  }

  private keep<T>(map: Map<string, T>, key: string, value: T): void {
    map.set(key, value)
    if (map.size > MAX_PIECES) map.delete(map.keys().next().value as string)
    const timer = setTimeout(() => {
      if (map.get(key) === value) map.delete(key)
    }, KEEP_MS)
    timer.unref?.()
  }

  private async read(meta: StreamMeta, from: Position, maxBytes: number): Promise<Piece | undefined> {
    const json = Boolean(meta.jsonMode)
    const args = [meta.id, from.seq, meta.tailSeq, from.pos + maxBytes, json ? COMMA : NOTHING] as never[]
    let row: { seq: number | null; endPos: number | null; data: unknown } | undefined
    if (json) {
      // Text: bytea would leave the server hex-encoded (pg-reads.ts, jsonText).
      try {
        const raw = await this.q.unsafe(PIECE_SQL(true), args, { prepare: true }).raw()
        const r = raw[0]
        if (r) row = { seq: decodeInt(r[0]), endPos: decodeInt(r[1]), data: r[2] }
      } catch (err) {
        if (err instanceof Error && err.name === 'PostgresError') return undefined // not UTF-8: the bytea path
        throw err
      }
    } else {
      const rows = await this.q.unsafe(PIECE_SQL(false), args, { prepare: true })
      row = rows[0] as unknown as typeof row
    }
    if (!row || row.seq === null || row.endPos === null) return undefined
    const d = row.data as Uint8Array | null
    const data = d ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : NOTHING
    return { end: { seq: Number(row.seq), pos: Number(row.endPos) }, data }
  }
}

/** A bigint column as raw() hands it over (its text bytes), or null. */
function decodeInt(v: unknown): number | null {
  if (v === null || v === undefined) return null
  return Number(Buffer.from(v as Uint8Array).toString('latin1'))
}
