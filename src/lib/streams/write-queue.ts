import type Database from 'better-sqlite3'
import type { Context } from '@opentelemetry/api'
import type { Logger } from '../common/logger'
import { captureParent, endCommitSpans, startCommitSpans } from '../ops/tracing-commit'

interface PendingOp {
  run: () => unknown
  /** Refuses (ProtocolError) only before its first write: needs no savepoint (see enqueue). */
  refusesBeforeWriting: boolean
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
  value?: unknown
  error?: unknown
  failed: boolean
  /** The trace context that queued it (null while traces are off). */
  parent: Context | null
}

/**
 * Group commit: every write operation queued in the same event-loop turn runs in ONE SQLite
 * transaction, each inside its own savepoint (a failing operation rolls back alone), except
 * operations that refuse only before they write (appends: `refusesBeforeWriting`). Promises
 * settle and after-commit hooks (live notifications) run only once the transaction has
 * committed, so nothing is acknowledged or shown to readers before it is durable.
 */
export class WriteQueue {
  private pending: PendingOp[] = []
  private hooks: Array<() => void> = []
  private scheduled = false
  private closed = false
  private readonly batch: Database.Transaction<(ops: PendingOp[]) => void>
  private readonly savepoint: Database.Transaction<(op: PendingOp) => unknown>

  constructor(
    sqlite: Database.Database,
    private readonly log: Logger,
    /** Runs after every committed batch, after its hooks (publishes live events); `ops` = the batch's operations. */
    private readonly onCommitted: (ops: number) => void = () => {},
    /** Runs when work was rolled back for an unexpected reason (drop caches that may be ahead). */
    private readonly onRolledBack: (err: unknown) => void = () => {},
  ) {
    this.savepoint = sqlite.transaction((op: PendingOp) => op.run())
    this.batch = sqlite.transaction((ops: PendingOp[]) => {
      if (ops.length === 1) {
        // Alone in its batch, the transaction is the operation's savepoint: a throw rolls the
        // whole (one-operation) transaction back. Saves SAVEPOINT + RELEASE per lone write
        // (sequential writers: every commit). flush() tells this apart from a failed COMMIT.
        const op = ops[0]!
        try {
          op.value = op.run()
        } catch (err) {
          op.error = err
          op.failed = true
          throw err
        }
        return
      }
      for (const op of ops) {
        const hooksBefore = this.hooks.length
        try {
          op.value = op.refusesBeforeWriting ? op.run() : this.savepoint(op)
        } catch (err) {
          const refusal = err instanceof Error && err.name === 'ProtocolError'
          // Without a savepoint only a refusal (which wrote nothing) fails alone; anything else
          // may have written part of the operation, so the whole batch rolls back (failAll).
          if (op.refusesBeforeWriting && !refusal) throw err
          // Rolled back to the savepoint: its notifications must not fire either.
          this.hooks.length = hooksBefore
          op.error = err
          op.failed = true
          if (!refusal) this.onRolledBack(err)
        }
      }
    })
  }

  /**
   * Runs `fn` inside the next group transaction; resolves with its result after commit.
   * `refusesBeforeWriting`: `fn` throws a ProtocolError only before its first write, so in a
   * batch of several it runs without a savepoint (SAVEPOINT + RELEASE were 1-2 µs of an append's
   * ~45 with 32 writers, specs/benchmarks.md). Any other error from it rolls back the whole
   * batch: every operation in it fails, none was acknowledged.
   */
  enqueue<T>(fn: () => T, opts: { refusesBeforeWriting?: boolean } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return new Promise<T>((resolve, reject) => {
      this.pending.push({
        run: fn,
        refusesBeforeWriting: opts.refusesBeforeWriting === true,
        resolve: resolve as (v: unknown) => void,
        reject,
        failed: false,
        parent: captureParent(),
      })
      if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  /** Registers work to run after the current batch commits (call from inside an op). */
  afterCommit(hook: () => void): void {
    this.hooks.push(hook)
  }

  flush(): void {
    this.scheduled = false
    const ops = this.pending
    if (ops.length === 0) return
    this.pending = []
    const spans = ops[0]!.parent ? startCommitSpans(ops.map((op) => op.parent)) : null
    try {
      this.batch(ops)
      endCommitSpans(spans)
    } catch (err) {
      this.hooks = []
      if (ops.length === 1 && ops[0]!.failed) {
        // The lone operation refused or failed and its rollback was the transaction's: settle
        // it as a batch whose savepoint rolled back (same hooks, same commit observers).
        endCommitSpans(spans)
        if (!(err instanceof Error && err.name === 'ProtocolError')) this.onRolledBack(err)
      } else {
        this.failAll(ops, spans, err)
        return
      }
    }
    const hooks = this.hooks
    this.hooks = []
    for (const op of ops) {
      if (op.failed) op.reject(op.error)
      else op.resolve(op.value)
    }
    for (const h of hooks) runWorkerCallback(h, this.log)
    try {
      this.onCommitted(ops.length)
    } catch (err) {
      this.log.error({ err }, 'after-commit hook failed')
    }
  }

  /** The commit itself failed (e.g. disk full): nothing in the batch is durable. */
  private failAll(ops: PendingOp[], spans: ReturnType<typeof startCommitSpans>, err: unknown): void {
    endCommitSpans(spans, err)
    this.onRolledBack(err)
    for (const op of ops) op.reject(err)
  }

  close(): void {
    this.flush()
    this.closed = true
  }
}

function runWorkerCallback(h: () => void, log: Logger): void {
  try {
    h()
  } catch (err) {
    log.error({ err }, 'after-commit hook failed')
  }
}
