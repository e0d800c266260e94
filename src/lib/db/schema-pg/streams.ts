import { sql } from 'drizzle-orm'
import { bigint, bigserial, index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'
import { bytea } from './types'

/**
 * One row per stream (live, closed or soft-deleted). `id` is never reused (a sequence) so a
 * stream re-created at the same path gets fresh ETags and a fresh message keyspace.
 */
export const streams = pgTable(
  'streams',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    path: text('path').notNull().unique(),
    contentType: text('content_type').notNull(),
    /** 1 when the content type is application/json (JSON mode framing). */
    jsonMode: bigint('json_mode', { mode: 'number' }).notNull().default(0),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    /** Declared sliding TTL in seconds (Stream-TTL), or null. */
    ttlSeconds: bigint('ttl_seconds', { mode: 'number' }),
    /** Declared absolute expiry (Stream-Expires-At) as the client sent it, or null. */
    expiresAt: text('expires_at'),
    /** Last read or write, for sliding TTL. */
    lastAccessAt: bigint('last_access_at', { mode: 'number' }).notNull(),
    /** Effective expiry instant in ms (TTL, Expires-At or default retention); null = never. */
    deadlineAt: bigint('deadline_at', { mode: 'number' }),
    tailSeq: bigint('tail_seq', { mode: 'number' }).notNull().default(0),
    tailPos: bigint('tail_pos', { mode: 'number' }).notNull().default(0),
    closed: bigint('closed', { mode: 'number' }).notNull().default(0),
    /** The (producer, epoch, seq) that closed the stream, for duplicate-close detection. */
    closedByProducer: text('closed_by_producer'),
    closedByEpoch: bigint('closed_by_epoch', { mode: 'number' }),
    closedBySeq: bigint('closed_by_seq', { mode: 'number' }),
    /** Last Stream-Seq accepted (writer coordination, per stream). */
    lastStreamSeq: text('last_stream_seq'),
    /** Fork: the source stream's id and the last inherited sequence / byte position. */
    forkSourceId: bigint('fork_source_id', { mode: 'number' }),
    forkSeq: bigint('fork_seq', { mode: 'number' }),
    forkPos: bigint('fork_pos', { mode: 'number' }),
    /** Fork request as given, for idempotent re-creation checks. */
    forkOffset: text('fork_offset'),
    forkSubOffset: bigint('fork_sub_offset', { mode: 'number' }),
    /** Number of forks whose source is this stream. */
    refCount: bigint('ref_count', { mode: 'number' }).notNull().default(0),
    /** 1 once deleted (or expired) while forks still reference it. */
    softDeleted: bigint('soft_deleted', { mode: 'number' }).notNull().default(0),
  },
  (t) => [
    index('streams_deadline_idx').on(t.deadlineAt).where(sql`${t.deadlineAt} IS NOT NULL`),
    index('streams_fork_source_idx').on(t.forkSourceId).where(sql`${t.forkSourceId} IS NOT NULL`),
  ],
)

/**
 * One row per append (a POST body or PUT initial body). For JSON streams `data` holds the
 * flattened messages as comma-separated JSON text and `count` their number.
 * Keyed by (stream, seq); SQLite's copy is a WITHOUT ROWID table, here the primary key's index
 * serves the same range reads.
 */
export const messages = pgTable(
  'messages',
  {
    streamId: bigint('stream_id', { mode: 'number' }).notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    /** Byte position after this row (cumulative over the stream's logical view). */
    endPos: bigint('end_pos', { mode: 'number' }).notNull(),
    count: bigint('count', { mode: 'number' }).notNull().default(1),
    data: bytea('data').notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.seq] })],
)

/** Idempotent producer state per (stream, producer). */
export const producers = pgTable(
  'producers',
  {
    streamId: bigint('stream_id', { mode: 'number' }).notNull(),
    producerId: text('producer_id').notNull(),
    epoch: bigint('epoch', { mode: 'number' }).notNull(),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.producerId] })],
)

export type StreamRow = typeof streams.$inferSelect

/** Messages of deleted streams too large to drop inside one request; purged in bounded batches. */
export const purges = pgTable('purges', {
  streamId: bigint('stream_id', { mode: 'number' }).primaryKey(),
  /** Highest sequence number that may still have rows. */
  throughSeq: bigint('through_seq', { mode: 'number' }).notNull(),
})

/**
 * Which nodes have live readers of which streams (PostgreSQL only: one SQLite node has no one to
 * tell). An append sends its cross-node NOTIFY only while another node watches the stream
 * (drizzle/pg/0005's tether_append, pg-watches.ts), so a stream read only where it is written
 * costs no notification. A node renews its rows while its readers stay; a dead node's rows lapse.
 */
export const streamWatchers = pgTable(
  'stream_watchers',
  {
    streamId: bigint('stream_id', { mode: 'number' }).notNull(),
    /** The watching node's tag (the one its notifications carry). */
    node: text('node').notNull(),
    /** ms since the epoch, by the database's clock (no skew between nodes). */
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.node] })],
)
