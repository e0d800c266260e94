import type Database from 'better-sqlite3'
import type { Logger } from '../common/logger'

export interface ExpirySweeperOptions {
  sqlite: Database.Database
  /** How often to sweep. */
  intervalMs?: number
  /** Streams expired per transaction, and message rows purged per transaction. */
  batchSize?: number
  /**
   * Expires a batch of due streams in one write the caller queues (each soft-deleted while forks
   * still read it, else deleted with its rows cascading) and resolves to how many it expired; it
   * may skip some this round (e.g. a live reader is attached), and 0 ends the pass.
   */
  expire: (ids: number[], now: number) => Promise<number>
  log: Logger
  /** Runs a small write in the writers' queue (so it interleaves with appends, never blocks them long). */
  runWrite: <T>(fn: () => T) => Promise<T>
}

export interface ExpirySweeper {
  /** One full pass: expire due streams and purge deleted streams' rows, batch by batch. */
  sweep(now?: number): Promise<{ expired: number; purgedRows: number }>
  stop(): void
}

/**
 * Background expiry: finds streams past their deadline (indexed on deadline_at) and hands them
 * to `expire` in batches, then deletes leftover message rows of large deleted streams (the
 * purges table) a bounded number of rows per transaction, yielding to writers in between.
 */
export function startExpirySweeper(opts: ExpirySweeperOptions): ExpirySweeper {
  const batchSize = opts.batchSize ?? 200
  const dueStmt = opts.sqlite.prepare<[number, number], { id: number }>(
    `SELECT id FROM streams WHERE deadline_at IS NOT NULL AND deadline_at <= ? AND soft_deleted = 0
     ORDER BY deadline_at LIMIT ?`,
  )
  const nextPurge = opts.sqlite.prepare<[], { streamId: number; throughSeq: number }>(
    `SELECT stream_id AS streamId, through_seq AS throughSeq FROM purges LIMIT 1`,
  )
  const minSeq = opts.sqlite.prepare<[number], { seq: number | null }>(`SELECT MIN(seq) AS seq FROM messages WHERE stream_id = ?`)
  const purgeRows = opts.sqlite.prepare(`DELETE FROM messages WHERE stream_id = ? AND seq <= ?`)
  const dropPurge = opts.sqlite.prepare(`DELETE FROM purges WHERE stream_id = ?`)

  let running: Promise<{ expired: number; purgedRows: number }> | null = null
  let stopped = false

  async function pass(now: number) {
    let expired = 0
    let purgedRows = 0
    for (;;) {
      const ids = dueStmt.all(now, batchSize).map((r) => r.id)
      if (ids.length === 0) break
      const n = await opts.expire(ids, now)
      expired += n
      if (n === 0 || ids.length < batchSize || stopped) break
    }
    while (!stopped) {
      const removed = await opts.runWrite(() => {
        const job = nextPurge.get()
        if (!job) return -1
        const from = minSeq.get(job.streamId)?.seq
        if (from === null || from === undefined) {
          dropPurge.run(job.streamId)
          return 0
        }
        return purgeRows.run(job.streamId, Math.min(job.throughSeq, from + batchSize * 10 - 1)).changes
      })
      if (removed < 0) break
      purgedRows += removed
    }
    return { expired, purgedRows }
  }

  function sweep(now = Date.now()) {
    running ??= pass(now).finally(() => {
      running = null
    })
    return running
  }

  const timer = setInterval(() => {
    sweep().catch((err) => opts.log.error({ err }, 'expiry sweep failed'))
  }, opts.intervalMs ?? 60_000)
  timer.unref?.()

  return {
    sweep,
    stop() {
      stopped = true
      clearInterval(timer)
    },
  }
}
