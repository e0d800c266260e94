/**
 * This node's watches (stream_watchers, drizzle/pg/0005): the streams it has live readers of,
 * so that other nodes' appends to them send a cross-node notice (pg-notices.ts) and appends to
 * streams nobody reads elsewhere send none.
 *
 * No lost wake: registering takes the stream row's lock in share mode, which an append's
 * `FOR UPDATE` conflicts with. An append in flight then commits first, and the tail the
 * registration returns includes it (the reader reads up to there itself); an append that comes
 * later waits for the registration's commit and sees the watch. A watch lives TTL_MS by the
 * database's clock and is renewed while readers stay; one that lapsed anyway (the database was
 * out of reach for that long) is renewed under the same lock and its readers re-check.
 */
import type { Sql } from 'postgres'
import type { Position } from '../offsets'
import { DB_NOW_MS } from '../../db/pg-clock'

/** How long a watch lasts without renewal: a dead node's watches cost others a few notices until then. */
export const WATCH_TTL_MS = 5 * 60_000
/** How often the engine renews (and drops unread streams' watches). */
export const WATCH_RENEW_MS = 30_000
/** A stream read here within this long keeps its watch (a reader between watch() and its subscription is covered). */
const IDLE_GRACE_MS = 60_000

const REGISTER_SQL = `
  WITH s AS (SELECT id, tail_seq, tail_pos FROM streams WHERE id = $2 FOR SHARE),
  w AS (INSERT INTO stream_watchers (stream_id, node, expires_at) SELECT id, $1, ${DB_NOW_MS} + $3::bigint FROM s
        ON CONFLICT (stream_id, node) DO UPDATE SET expires_at = excluded.expires_at)
  SELECT tail_seq AS seq, tail_pos AS pos FROM s`

/**
 * Renews the watches of $2, drops this node's others (but those being registered, $4), and returns the streams whose watch had
 * lapsed, locked in path order (as write batches lock, pg-queue.ts) so no append straddles the
 * renewal unannounced.
 */
const RENEW_SQL = `
  WITH keep AS (SELECT DISTINCT unnest($2::bigint[]) AS id),
  lapsed AS (SELECT k.id FROM keep k WHERE NOT EXISTS (
    SELECT 1 FROM stream_watchers w WHERE w.stream_id = k.id AND w.node = $1 AND w.expires_at > ${DB_NOW_MS})),
  locked AS (SELECT s.id FROM streams s WHERE s.id IN (SELECT id FROM lapsed) ORDER BY s.path FOR SHARE),
  up AS (INSERT INTO stream_watchers (stream_id, node, expires_at) SELECT id, $1, ${DB_NOW_MS} + $3::bigint FROM keep
         ON CONFLICT (stream_id, node) DO UPDATE SET expires_at = excluded.expires_at),
  gone AS (DELETE FROM stream_watchers WHERE node = $1 AND stream_id <> ALL($2::bigint[]) AND stream_id <> ALL($4::bigint[]))
  SELECT id FROM locked`

export class PgWatches {
  /** Watched streams and when (this node's clock) they were last read here. */
  private readonly lastRead = new Map<number, number>()
  private readonly registering = new Map<number, Promise<Position | null>>()

  constructor(
    private readonly sql: Sql,
    /** This node's tag, as its notices carry it. */
    readonly node: string,
  ) {}

  /**
   * Before a live read of stream `id`. Undefined, at once, when the stream is watched already.
   * Otherwise, once the watch is in place: the stream's tail then (null if the stream is gone).
   * Appends after that tail will be announced; a reader whose own read stopped short of it reads
   * again.
   */
  watch(id: number): Promise<Position | null> | undefined {
    if (this.lastRead.has(id)) {
      this.lastRead.set(id, Date.now())
      return undefined
    }
    let pending = this.registering.get(id)
    if (!pending) {
      pending = this.sql
        .unsafe(REGISTER_SQL, [this.node, id, WATCH_TTL_MS] as never[], { prepare: true })
        .then((rows) => {
          this.lastRead.set(id, Date.now())
          const row = rows[0] as unknown as { seq: number; pos: number } | undefined
          return row ? { seq: Number(row.seq), pos: Number(row.pos) } : null
        })
        .finally(() => this.registering.delete(id))
      this.registering.set(id, pending)
    }
    return pending
  }

  /**
   * Renews the watches of the streams read here now (`reading`) or lately, drops the others, and
   * returns those whose watch had lapsed: their readers may have missed an append and re-check.
   */
  async renew(reading: readonly number[]): Promise<number[]> {
    const now = Date.now()
    for (const id of reading) this.lastRead.set(id, now)
    for (const [id, at] of this.lastRead) if (now - at > IDLE_GRACE_MS) this.lastRead.delete(id)
    const keep = [...this.lastRead.keys()]
    // A registration in flight may commit before this statement looks: its row is not to go.
    const registering = [...this.registering.keys()]
    const rows = await this.sql.unsafe(RENEW_SQL, [this.node, keep, WATCH_TTL_MS, registering] as never[])
    return rows.map((r) => Number((r as unknown as { id: number }).id))
  }

  /** Drops this node's watches (it is closing: other nodes stop notifying it). */
  async clear(): Promise<void> {
    this.lastRead.clear()
    await this.sql.unsafe(`DELETE FROM stream_watchers WHERE node = $1`, [this.node])
  }
}
