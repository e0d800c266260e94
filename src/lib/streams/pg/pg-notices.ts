/**
 * The cross-node change notices of the PostgreSQL engine: `NOTIFY tether_streams` sent inside a
 * writing transaction (delivered only if it commits), telling the other nodes to re-read a
 * stream. The payload names the sending node, the stream and its new tail; nothing is delivered
 * from it, so a lost, duplicated or reordered notice can delay a reader but never corrupt one.
 *
 * Appends notify only while another node watches the stream (stream_watchers, pg-watches.ts):
 * most streams are read where they are written, and a NOTIFY cost about a quarter of a lone
 * append. Creates and deletes always notify (rare, and a deletion must end every reader).
 */
import { DB_NOW_MS } from '../../db/pg-clock'
import type { Position } from '../offsets'
import type { Queryable } from './pg-reads'

export const STREAMS_CHANNEL = 'tether_streams'


export interface ChangeNotice {
  node: string
  id: number
  tail: Position
  deleted: boolean
}

export function noticePayload(n: ChangeNotice): string {
  return `${n.node} ${n.id} ${n.tail.seq} ${n.tail.pos}${n.deleted ? ' d' : ''}`
}

/** undefined for a payload that is not a well-formed notice (ignored, never thrown on). */
export function parseNotice(payload: string): ChangeNotice | undefined {
  const [node, id, seq, pos, flag] = payload.split(' ')
  const numbers = [Number(id), Number(seq), Number(pos)]
  if (!node || numbers.some((n) => !Number.isSafeInteger(n))) return undefined
  return { node, id: numbers[0]!, tail: { seq: numbers[1]!, pos: numbers[2]! }, deleted: flag === 'd' }
}

const NOTIFY_SQL = `SELECT pg_notify($1, $2)`
/** The same condition as tether_append's (drizzle/pg/0005). */
const NOTIFY_IF_WATCHED_SQL = `SELECT pg_notify($1, $2) WHERE EXISTS (
  SELECT 1 FROM stream_watchers WHERE stream_id = $3 AND node <> $4 AND expires_at > ${DB_NOW_MS})`

/**
 * Queues the notice in the transaction `q`; `ifWatched`: only when a node other than the sender
 * watches the stream (appends), else always (creates, deletes).
 */
export function sendNotice(q: Queryable, n: ChangeNotice, ifWatched: boolean): Promise<unknown> {
  const payload = noticePayload(n)
  return ifWatched
    ? q.unsafe(NOTIFY_IF_WATCHED_SQL, [STREAMS_CHANNEL, payload, n.id, n.node] as never[], { prepare: true })
    : q.unsafe(NOTIFY_SQL, [STREAMS_CHANNEL, payload], { prepare: true })
}
