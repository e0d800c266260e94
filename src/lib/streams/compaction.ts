/**
 * Compaction of a JSON-mode stream's stored rows, driven by a planner that knows what the
 * messages mean (sessions: src/lib/sessions/compaction/plan.ts). The streams layer only
 * guarantees the mechanics:
 * - delete-only plus in-place rewrites: a row whose messages are all dropped is deleted, a row
 *   with some kept gets its `data` and `count` rewritten; `seq` and `end_pos` never change, so
 *   every offset ever handed out stays valid and a read from any offset (also one of a deleted
 *   row) returns exactly the kept messages after it;
 * - one transaction through the write queue, so it never interleaves with an append and
 *   readers see the stream either before or after it;
 * - rows a fork inherits are never touched (rows up to the highest fork_seq of the stream's
 *   forks), nor rows a fork stream inherited from its source (those are the source's);
 * - the stream's last-access time and expiry are not changed (compaction is not activity); the
 *   tail is written to the streams row so it survives a deleted last row.
 * `StreamCompactor` is the SQLite executor; pg/pg-compaction.ts the PostgreSQL one, with the same
 * plan (`planRowChanges`).
 */
import type Database from 'better-sqlite3'
import { badRequest, conflict, notFound } from './errors'
import type { StreamStore } from './stream-store'
import type { WriteQueue } from './write-queue'

export interface StoredEvent {
  seq: number
  index: number
  event: unknown
}

/** What to do with the events: drop (by `${seq}:${index}`) or rewrite in place. */
export interface RowPlan {
  drop: ReadonlySet<string>
  replace: ReadonlyMap<string, unknown>
}

export type CompactionPlanner = (events: StoredEvent[]) => RowPlan

export interface StoredSize {
  /** Sum of the stored message text of the stream's own rows. */
  bytes: number
  events: number
}

export interface CompactionResult {
  before: StoredSize
  after: StoredSize
  rowsDeleted: number
  rowsRewritten: number
}

/** What both engines' executors do: report a stream's stored size, and compact it by a plan. */
export interface StreamCompaction {
  size(path: string): StoredSize | Promise<StoredSize>
  compact(path: string, planner: CompactionPlanner): Promise<CompactionResult>
}

export interface StoredRow {
  seq: number
  count: number
  data: Buffer
}

/** A row to delete (`data` null) or rewrite; `count` is what it held when read (a changed row is left alone). */
export interface RowChange {
  seq: number
  count: number
  data: Buffer | null
  newCount: number
}

/** The planner's verdict on the rows, as row deletes and rewrites (rows it leaves whole are not listed). */
export function planRowChanges(rows: readonly StoredRow[], planner: CompactionPlanner): RowChange[] {
  const parsed = new Map<number, unknown[]>()
  const events: StoredEvent[] = []
  for (const row of rows) {
    const messages = JSON.parse(`[${row.data.toString('utf8')}]`) as unknown[]
    parsed.set(row.seq, messages)
    messages.forEach((event, index) => {
      events.push({ seq: row.seq, index, event })
    })
  }
  const plan = planner(events)
  const changes: RowChange[] = []
  for (const row of rows) {
    const messages = parsed.get(row.seq)!
    let changed = false
    const kept: string[] = []
    messages.forEach((message, index) => {
      const at = `${row.seq}:${index}`
      if (plan.drop.has(at)) changed = true
      else if (plan.replace.has(at)) {
        changed = true
        kept.push(JSON.stringify(plan.replace.get(at)))
      } else kept.push(JSON.stringify(message))
    })
    if (!changed) continue
    changes.push({ seq: row.seq, count: row.count, data: kept.length ? Buffer.from(kept.join(','), 'utf8') : null, newCount: kept.length })
  }
  return changes
}

type Row = StoredRow

export class StreamCompactor implements StreamCompaction {
  private readonly rowsStmt: Database.Statement<[number, number], Row>
  private readonly sizeStmt: Database.Statement<[number, number], { bytes: number | null; events: number | null }>
  private readonly forkFloorStmt: Database.Statement<[number], number | null>
  private readonly deleteStmt: Database.Statement<[number, number]>
  private readonly rewriteStmt: Database.Statement<[Buffer, number, number, number, number]>
  private readonly saveTailStmt: Database.Statement<[number, number, number, number]>
  private readonly running = new Set<number>()

  constructor(
    sqlite: Database.Database,
    private readonly store: StreamStore,
    private readonly queue: WriteQueue,
  ) {
    this.rowsStmt = sqlite.prepare(`SELECT seq, count, data FROM messages WHERE stream_id = ? AND seq > ? ORDER BY seq`)
    this.sizeStmt = sqlite.prepare(`SELECT SUM(length(data)) AS bytes, SUM(count) AS events FROM messages WHERE stream_id = ? AND seq > ?`)
    this.forkFloorStmt = sqlite.prepare<[number], number | null>(`SELECT MAX(fork_seq) FROM streams WHERE fork_source_id = ?`).pluck()
    this.deleteStmt = sqlite.prepare(`DELETE FROM messages WHERE stream_id = ? AND seq = ?`)
    // The count check makes a rewrite of a row that changed since it was read a no-op.
    this.rewriteStmt = sqlite.prepare(`UPDATE messages SET data = ?, count = ? WHERE stream_id = ? AND seq = ? AND count = ?`)
    this.saveTailStmt = sqlite.prepare(`UPDATE streams SET tail_seq = ?, tail_pos = ? WHERE id = ? AND tail_seq < ?`)
  }

  /** Stored size of the stream's own rows (not rows inherited from a fork source). */
  size(path: string): StoredSize {
    const meta = this.store.get(path)
    if (!meta || meta.softDeleted) throw notFound()
    const own = meta.forkSourceId === null ? 0 : (meta.forkSeq ?? 0)
    const r = this.sizeStmt.get(meta.id, own)
    return { bytes: r?.bytes ?? 0, events: r?.events ?? 0 }
  }

  async compact(path: string, planner: CompactionPlanner): Promise<CompactionResult> {
    const meta = this.store.get(path)
    if (!meta || meta.softDeleted) throw notFound()
    if (!meta.jsonMode) throw badRequest('NOT_JSON_STREAM', 'Only JSON-mode streams can be compacted')
    if (this.running.has(meta.id)) throw conflict('COMPACTION_RUNNING', 'This stream is being compacted already')
    this.running.add(meta.id)
    try {
      // Reads are synchronous, so this is one consistent snapshot (appends run between turns).
      const own = meta.forkSourceId === null ? 0 : (meta.forkSeq ?? 0)
      const floor = Math.max(own, this.forkFloorStmt.get(meta.id) ?? 0)
      const before = this.size(path)
      const changes = planRowChanges(this.rowsStmt.all(meta.id, floor), planner)
      let rowsDeleted = 0
      let rowsRewritten = 0
      await this.queue.enqueue(() => {
        const now = this.store.get(path)
        if (!now || now.id !== meta.id) throw notFound()
        // A fork created since the read inherits rows up to its fork_seq: those stay as they are.
        const floorNow = Math.max(floor, this.forkFloorStmt.get(meta.id) ?? 0)
        for (const c of changes) {
          if (c.seq <= floorNow) continue
          if (c.data === null) rowsDeleted += this.deleteStmt.run(meta.id, c.seq).changes
          else rowsRewritten += this.rewriteStmt.run(c.data, c.newCount, meta.id, c.seq, c.count).changes
        }
        // The tail is normally recovered from the last row (StreamStore.remember); that row may be gone now.
        this.saveTailStmt.run(now.tailSeq, now.tailPos, meta.id, now.tailSeq)
      })
      return { before, after: this.size(path), rowsDeleted, rowsRewritten }
    } finally {
      this.running.delete(meta.id)
    }
  }
}
