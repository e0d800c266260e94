import { sql } from 'drizzle-orm'
import { blob, index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * One row per stream (live, closed or soft-deleted). `id` is never reused (AUTOINCREMENT) so a
 * stream re-created at the same path gets fresh ETags and a fresh message keyspace.
 */
export const streams = sqliteTable(
  'streams',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    path: text('path').notNull().unique(),
    contentType: text('content_type').notNull(),
    /** 1 when the content type is application/json (JSON mode framing). */
    jsonMode: integer('json_mode').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    /** Declared sliding TTL in seconds (Stream-TTL), or null. */
    ttlSeconds: integer('ttl_seconds'),
    /** Declared absolute expiry (Stream-Expires-At) as the client sent it, or null. */
    expiresAt: text('expires_at'),
    /** Last read or write, for sliding TTL. */
    lastAccessAt: integer('last_access_at').notNull(),
    /** Effective expiry instant in ms (TTL, Expires-At or default retention); null = never. */
    deadlineAt: integer('deadline_at'),
    tailSeq: integer('tail_seq').notNull().default(0),
    tailPos: integer('tail_pos').notNull().default(0),
    closed: integer('closed').notNull().default(0),
    /** The (producer, epoch, seq) that closed the stream, for duplicate-close detection. */
    closedByProducer: text('closed_by_producer'),
    closedByEpoch: integer('closed_by_epoch'),
    closedBySeq: integer('closed_by_seq'),
    /** Last Stream-Seq accepted (writer coordination, per stream). */
    lastStreamSeq: text('last_stream_seq'),
    /** Fork: the source stream's id and the last inherited sequence / byte position. */
    forkSourceId: integer('fork_source_id'),
    forkSeq: integer('fork_seq'),
    forkPos: integer('fork_pos'),
    /** Fork request as given, for idempotent re-creation checks. */
    forkOffset: text('fork_offset'),
    forkSubOffset: integer('fork_sub_offset'),
    /** Number of forks whose source is this stream. */
    refCount: integer('ref_count').notNull().default(0),
    /** 1 once deleted (or expired) while forks still reference it. */
    softDeleted: integer('soft_deleted').notNull().default(0),
  },
  (t) => [
    index('streams_deadline_idx').on(t.deadlineAt).where(sql`${t.deadlineAt} IS NOT NULL`),
    index('streams_fork_source_idx').on(t.forkSourceId).where(sql`${t.forkSourceId} IS NOT NULL`),
  ],
)

/**
 * One row per append (a POST body or PUT initial body). For JSON streams `data` holds the
 * flattened messages as comma-separated JSON text and `count` their number. Rebuilt as a
 * WITHOUT ROWID table by a custom migration, so rows cluster by (stream, seq).
 */
export const messages = sqliteTable(
  'messages',
  {
    streamId: integer('stream_id').notNull(),
    seq: integer('seq').notNull(),
    /** Byte position after this row (cumulative over the stream's logical view). */
    endPos: integer('end_pos').notNull(),
    count: integer('count').notNull().default(1),
    data: blob('data', { mode: 'buffer' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.seq] })],
)

/** Idempotent producer state per (stream, producer). */
export const producers = sqliteTable(
  'producers',
  {
    streamId: integer('stream_id').notNull(),
    producerId: text('producer_id').notNull(),
    epoch: integer('epoch').notNull(),
    lastSeq: integer('last_seq').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.producerId] })],
)

export type StreamRow = typeof streams.$inferSelect

/** Messages of deleted streams too large to drop inside one request; purged in bounded batches. */
export const purges = sqliteTable('purges', {
  streamId: integer('stream_id').primaryKey(),
  /** Highest sequence number that may still have rows. */
  throughSeq: integer('through_seq').notNull(),
})
