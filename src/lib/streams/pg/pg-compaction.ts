/**
 * Compaction on PostgreSQL (session compaction's row rewrites; the rules are compaction.ts's):
 * the rows are read and planned outside any transaction, then the deletes and rewrites run in
 * one transaction of the node's write queue, after re-reading the stream row under its lock
 * and the forks' floor. A rewrite names the row's count as it was read, so a row that changed
 * meanwhile is left alone. The stream row's tail is authoritative here (every append writes
 * it), so deleting the last row loses nothing. Two nodes compacting one stream at once run the
 * same deterministic plan over the same rows; the second finds its work done.
 */
import type { Sql } from 'postgres'
import { planRowChanges, type CompactionPlanner, type CompactionResult, type StoredRow, type StoredSize, type StreamCompaction } from '../compaction'
import { badRequest, conflict, notFound } from '../errors'
import { PgReads, type Queryable } from './pg-reads'

type Enqueue = <T>(run: (tx: Queryable) => Promise<T>) => Promise<T>

async function rows<T>(q: Queryable, text: string, args: unknown[]): Promise<T[]> {
  // Why the cast: postgres.js types parameters as its own union; ours are numbers and Buffers.
  return (await q.unsafe(text, args as never[], { prepare: true })) as unknown as T[]
}

async function forkFloor(q: Queryable, id: number): Promise<number> {
  const [r] = await rows<{ floor: number | null }>(q, `SELECT MAX(fork_seq) AS floor FROM streams WHERE fork_source_id = $1`, [id])
  return Number(r?.floor ?? 0)
}

export class PgStreamCompactor implements StreamCompaction {
  private readonly running = new Set<number>()
  private readonly reads: PgReads

  constructor(
    private readonly sql: Sql,
    private readonly enqueue: Enqueue,
  ) {
    this.reads = new PgReads(sql)
  }

  async size(path: string): Promise<StoredSize> {
    const meta = await this.reads.get(path)
    if (!meta || meta.softDeleted) throw notFound()
    const own = meta.forkSourceId === null ? 0 : (meta.forkSeq ?? 0)
    const [r] = await rows<{ bytes: number | null; events: number | null }>(
      this.sql,
      `SELECT SUM(length(data))::bigint AS bytes, SUM(count)::bigint AS events FROM messages WHERE stream_id = $1 AND seq > $2`,
      [meta.id, own],
    )
    return { bytes: Number(r?.bytes ?? 0), events: Number(r?.events ?? 0) }
  }

  async compact(path: string, planner: CompactionPlanner): Promise<CompactionResult> {
    const meta = await this.reads.get(path)
    if (!meta || meta.softDeleted) throw notFound()
    if (!meta.jsonMode) throw badRequest('NOT_JSON_STREAM', 'Only JSON-mode streams can be compacted')
    if (this.running.has(meta.id)) throw conflict('COMPACTION_RUNNING', 'This stream is being compacted already')
    this.running.add(meta.id)
    try {
      const own = meta.forkSourceId === null ? 0 : (meta.forkSeq ?? 0)
      const floor = Math.max(own, await forkFloor(this.sql, meta.id))
      const before = await this.size(path)
      const stored = await rows<StoredRow>(this.sql, `SELECT seq, count, data FROM messages WHERE stream_id = $1 AND seq > $2 ORDER BY seq`, [
        meta.id,
        floor,
      ])
      const changes = planRowChanges(stored, planner)
      const done = await this.enqueue(async (tx) => {
        const now = await new PgReads(tx).get(path, true)
        if (!now || now.id !== meta.id) throw notFound()
        // A fork created since the read inherits rows up to its fork_seq: those stay as they are.
        const floorNow = Math.max(floor, await forkFloor(tx, meta.id))
        let rowsDeleted = 0
        let rowsRewritten = 0
        for (const c of changes) {
          if (c.seq <= floorNow) continue
          if (c.data === null) {
            rowsDeleted += (await rows(tx, `DELETE FROM messages WHERE stream_id = $1 AND seq = $2 RETURNING seq`, [meta.id, c.seq])).length
          } else {
            rowsRewritten += (
              await rows(tx, `UPDATE messages SET data = $1, count = $2 WHERE stream_id = $3 AND seq = $4 AND count = $5 RETURNING seq`, [
                c.data,
                c.newCount,
                meta.id,
                c.seq,
                c.count,
              ])
            ).length
          }
        }
        return { rowsDeleted, rowsRewritten }
      })
      return { before, after: await this.size(path), ...done }
    } finally {
      this.running.delete(meta.id)
    }
  }
}
