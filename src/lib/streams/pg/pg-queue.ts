/**
 * Group commit on PostgreSQL, as WriteQueue does on SQLite: the operations queued while the
 * previous transaction was committing run together in the next one, each inside its own
 * savepoint (a refused operation rolls back alone). Promises settle and after-commit hooks
 * (live events, listeners) run only once the transaction has committed, so nothing is
 * acknowledged or shown to readers before it is durable. One transaction is in flight at a
 * time per node; other nodes commit their own batches concurrently, ordered by row locks.
 */
import type { Sql, TransactionSql } from 'postgres'
import type { Logger } from '../../common/logger'
import type { AfterCommit } from './pg-writer'

type Operation<T> = (tx: TransactionSql, after: AfterCommit) => Promise<T>

interface PendingOp {
  run: Operation<unknown>
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
  hooks: Array<() => void>
  value?: unknown
  error?: unknown
  failed: boolean
}

/** Deadlock and serialization failures: PostgreSQL aborted the batch; its operations are retried one by one. */
const RETRYABLE = new Set(['40P01', '40001'])

export class PgWriteQueue {
  private pending: PendingOp[] = []
  private running: Promise<void> | null = null
  private closed = false

  constructor(
    private readonly sql: Sql,
    private readonly log: Logger,
    /** After every committed batch, after its hooks (publishes live events); `ops` = the batch's operations. */
    private readonly onCommitted: (ops: number) => void,
  ) {}

  enqueue<T>(run: Operation<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ run: run as Operation<unknown>, resolve: resolve as (v: unknown) => void, reject, hooks: [], failed: false })
      this.running ??= this.drain()
    })
  }

  private async drain(): Promise<void> {
    // Let the rest of this turn queue its writes too: they share the transaction.
    await new Promise<void>((r) => setImmediate(r))
    while (this.pending.length > 0) {
      const ops = this.pending
      this.pending = []
      await this.commit(ops)
    }
    this.running = null
  }

  private async commit(ops: PendingOp[]): Promise<void> {
    try {
      await this.transaction(ops)
    } catch (err) {
      const code = (err as { code?: string }).code
      if (ops.length > 1 && code !== undefined && RETRYABLE.has(code)) {
        for (const op of ops) await this.commit([reset(op)])
        return
      }
      if (!(ops.length === 1 && ops[0]!.failed)) {
        // The commit itself failed (connection lost, disk full): nothing in the batch is durable.
        if (!(err instanceof Error && err.name === 'ProtocolError')) this.log.error({ err }, 'write batch failed')
        for (const op of ops) op.reject(err)
        return
      }
    }
    for (const op of ops) {
      if (op.failed) op.reject(op.error)
      else op.resolve(op.value)
    }
    for (const op of ops) {
      if (op.failed) continue
      for (const hook of op.hooks) {
        try {
          hook()
        } catch (err) {
          this.log.error({ err }, 'after-commit hook failed')
        }
      }
    }
    try {
      this.onCommitted(ops.length)
    } catch (err) {
      this.log.error({ err }, 'after-commit hook failed')
    }
  }

  private transaction(ops: PendingOp[]): Promise<unknown> {
    return this.sql.begin(async (tx) => {
      if (ops.length === 1) {
        // Alone in its batch, the transaction is the operation's savepoint.
        const op = ops[0]!
        try {
          op.value = await op.run(tx, (h) => op.hooks.push(h))
        } catch (err) {
          op.error = err
          op.failed = true
          throw err
        }
        return
      }
      for (const op of ops) {
        try {
          op.value = await tx.savepoint((sp) => op.run(sp as unknown as TransactionSql, (h) => op.hooks.push(h)))
        } catch (err) {
          const code = (err as { code?: string }).code
          // A deadlock aborts the whole transaction, not just the savepoint: let the batch retry.
          if (code !== undefined && RETRYABLE.has(code)) throw err
          op.hooks = []
          op.error = err
          op.failed = true
        }
      }
    })
  }

  /** Waits for queued writes to commit, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true
    while (this.running) await this.running
  }
}

function reset(op: PendingOp): PendingOp {
  op.hooks = []
  op.failed = false
  op.error = undefined
  op.value = undefined
  return op
}
