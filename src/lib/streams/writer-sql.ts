import type Database from 'better-sqlite3'

/** The writer's prepared statements (compiled once per connection). */
export function prepareWriterStatements(sqlite: Database.Database) {
  return {
    insertStream: sqlite.prepare(
      `INSERT INTO streams (path, content_type, json_mode, created_at, ttl_seconds, expires_at,
         last_access_at, deadline_at, tail_seq, tail_pos, fork_source_id, fork_seq, fork_pos,
         fork_offset, fork_sub_offset)
       VALUES (@path, @contentType, @jsonMode, @now, @ttl, @expiresAt, @now, @deadline, @tailSeq,
         @tailPos, @forkSourceId, @forkSeq, @forkPos, @forkOffset, @forkSubOffset)`,
    ),
    insertRow: sqlite.prepare(`INSERT INTO messages (stream_id, seq, end_pos, count, data) VALUES (?, ?, ?, ?, ?)`),
    setTail: sqlite.prepare(`UPDATE streams SET tail_seq = @tailSeq, tail_pos = @tailPos, closed = @closed WHERE id = @id`),
    closeStream: sqlite.prepare(
      `UPDATE streams SET tail_seq = @tailSeq, tail_pos = @tailPos, last_access_at = @now,
         deadline_at = @deadline, closed = 1, closed_by_producer = @closedByProducer,
         closed_by_epoch = @closedByEpoch, closed_by_seq = @closedBySeq
       WHERE id = @id`,
    ),
    setStreamSeq: sqlite.prepare(`UPDATE streams SET last_stream_seq = ? WHERE id = ?`),
    touch: sqlite.prepare(`UPDATE streams SET last_access_at = ?, deadline_at = ? WHERE id = ?`),
    getProducer: sqlite.prepare<[number, string], { epoch: number; lastSeq: number }>(
      `SELECT epoch, last_seq AS lastSeq FROM producers WHERE stream_id = ? AND producer_id = ?`,
    ),
    upsertProducer: sqlite.prepare(
      `INSERT INTO producers (stream_id, producer_id, epoch, last_seq, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream_id, producer_id) DO UPDATE SET epoch = excluded.epoch,
         last_seq = excluded.last_seq, updated_at = excluded.updated_at`,
    ),
    addRef: sqlite.prepare(`UPDATE streams SET ref_count = ref_count + 1 WHERE id = ?`),
    dropRef: sqlite.prepare(`UPDATE streams SET ref_count = MAX(ref_count - 1, 0) WHERE id = ?`),
    softDelete: sqlite.prepare(`UPDATE streams SET soft_deleted = 1, deadline_at = NULL WHERE id = ?`),
    deleteRows: sqlite.prepare(`DELETE FROM messages WHERE stream_id = ?`),
    deleteProducers: sqlite.prepare(`DELETE FROM producers WHERE stream_id = ?`),
    deleteStream: sqlite.prepare(`DELETE FROM streams WHERE id = ?`),
    enqueuePurge: sqlite.prepare(`INSERT INTO purges (stream_id, through_seq) VALUES (?, ?)`),
  }
}

export type WriterStatements = ReturnType<typeof prepareWriterStatements>
