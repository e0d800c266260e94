/**
 * Group commit on PostgreSQL, as WriteQueue does on SQLite: the operations queued while the
 * previous transaction was committing run together in the next one, each inside its own
 * savepoint (a refused operation rolls back alone). Promises settle and after-commit hooks
 * (live events, listeners) run only once the transaction has committed, so nothing is
 * acknowledged or shown to readers before it is durable. One transaction is in flight at a
 * time per node; other nodes commit their own batches concurrently, ordered by row locks.
 *
 * Round trips are what an append costs here, so the batch is pipelined on one reserved
 * connection: BEGIN goes out with the first statement, and an operation that sends its last
 * statement with `final` (a one-statement append, pg-fast-append.ts) is not waited for: the
 * next operation's statements, and COMMIT, follow it on the wire. A batch of such appends is
 * one round trip; a lone one runs as its own statement, without BEGIN and COMMIT.
 *
 * A batch runs its operations in the order of their lock keys (the stream's path), stably, so
 * operations on one stream keep their order. Every node then takes stream row locks in one global
 * order: two nodes whose batches touch the same streams wait for each other instead of
 * deadlocking (each deadlock cost deadlock_timeout, 1 s, and a retry one by one).
 */
import type { Sql } from 'postgres'
import type { Logger } from '../../common/logger'
import { StaleGuess, type FinalQueryable } from './pg-fast-append'
import type { Queryable } from './pg-reads'
import type { AfterCommit } from './pg-writer'

type Operation<T> = (tx: Queryable, after: AfterCommit) => Promise<T>

interface PendingOp {
  run: Operation<unknown>
  /** The row this operation locks first (a stream path); none: after every keyed one, in queue order. */
  lockKey?: string
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
  hooks: Array<() => void>
  value?: unknown
  error?: unknown
  failed: boolean
  /** Its guess was stale, or its batch was rolled back: run it without `final`. */
  slowOnly: boolean
  stale: boolean
}

/** The batch in lock-key order (code units, the same on every node), stable; keyless operations last. */
export function inLockOrder<T extends { lockKey?: string }>(ops: readonly T[]): T[] {
  return ops
    .map((op, i) => ({ op, i }))
    .sort((a, b) => {
      const x = a.op.lockKey
      const y = b.op.lockKey
      if (x === y) return a.i - b.i
      if (x === undefined) return 1
      if (y === undefined) return -1
      return x < y ? -1 : 1
    })
    .map((e) => e.op)
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

  enqueue<T>(run: Operation<T>, lockKey?: string): Promise<T> {
    if (this.closed) return Promise.reject(new Error('store is closed'))
    return new Promise<T>((resolve, reject) => {
      this.pending.push({
        run: run as Operation<unknown>,
        ...(lockKey !== undefined ? { lockKey } : {}),
        resolve: resolve as (v: unknown) => void,
        reject,
        hooks: [],
        failed: false,
        slowOnly: false,
        stale: false,
      })
      this.running ??= this.drain()
    })
  }

  private async drain(): Promise<void> {
    // Let the rest of this turn queue its writes too: they share the transaction.
    await new Promise<void>((r) => setImmediate(r))
    while (this.pending.length > 0) {
      const ops = inLockOrder(this.pending)
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
      if (err instanceof BatchRolledBack || (ops.length > 1 && code !== undefined && RETRYABLE.has(code))) {
        // Nothing of the batch was written: each operation runs again alone, the long way.
        for (const op of ops) await this.commit([reset(op, true)])
        return
      }
      if (!(ops.length === 1 && ops[0]!.failed)) {
        // The commit itself failed (connection lost, disk full): nothing in the batch is durable.
        if (!(err instanceof Error && err.name === 'ProtocolError')) this.log.error({ err }, 'write batch failed')
        for (const op of ops) op.reject(err)
        return
      }
    }
    const stale = ops.filter((op) => op.stale)
    const done = ops.filter((op) => !op.stale)
    for (const op of done) {
      if (op.failed) op.reject(op.error)
      else op.resolve(op.value)
    }
    for (const op of done) {
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
      if (done.length > 0) this.onCommitted(done.length)
    } catch (err) {
      this.log.error({ err }, 'after-commit hook failed')
    }
    // Stale guesses wrote nothing: they run next, before anything queued after them.
    if (stale.length > 0) this.pending.unshift(...stale.map((op) => reset(op, true)))
  }

  /** Runs the batch in one transaction on a reserved connection, pipelined (see the top of the file). */
  private async transaction(ops: PendingOp[]): Promise<void> {
    const conn = await this.sql.reserve()
    const single = ops.length === 1
    let begun = false
    let finished = false
    /** Operations whose last statement is on the wire; they settle with COMMIT's answer. */
    const inFlight: Array<{ op: PendingOp; running: Promise<unknown> }> = []
    const send = (text: string): Promise<unknown> => {
      const q = conn.unsafe(text)
      q.catch(() => {}) // Its failure shows as the batch's ROLLBACK; no unhandled rejection.
      return q
    }
    const begin = () => {
      if (begun) return
      begun = true
      void send('BEGIN')
    }
    try {
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!
        let savepoint = false
        let declareFinal!: () => void
        const declared = new Promise<'final'>((r) => {
          declareFinal = () => r('final')
        })
        const query = (text: string, args?: unknown[], opts?: { prepare?: boolean }) => {
          begin()
          if (!single && !savepoint) {
            savepoint = true
            void send(`SAVEPOINT s${i}`)
          }
          // Why the cast: postgres.js types parameters as its own union; ours are numbers, strings, Buffers and nulls.
          return conn.unsafe(text, (args ?? []) as never[], opts)
        }
        const final: FinalQueryable['final'] = (text, args) => {
          declareFinal()
          if (single) {
            // Alone: the statement is its own transaction.
            if (!begun) finished = true
          } else begin()
          return conn.unsafe(text, args as never[], { prepare: true }) as unknown as ReturnType<FinalQueryable['final']>
        }
        const tx = op.slowOnly ? { unsafe: query } : { unsafe: query, final }
        const running = op.run(tx as unknown as Queryable, (h) => op.hooks.push(h))
        running.catch(() => {}) // Examined below, once settled.
        const first = await Promise.race([running.then(() => 'done' as const, () => 'done' as const), declared])
        if (first === 'final') {
          inFlight.push({ op, running })
          continue
        }
        try {
          op.value = await running
          if (savepoint) void send(`RELEASE SAVEPOINT s${i}`)
        } catch (err) {
          const code = (err as { code?: string }).code
          // A deadlock aborts the whole transaction, not just the savepoint: let the batch retry.
          if (code !== undefined && RETRYABLE.has(code)) throw err
          op.hooks = []
          op.error = err
          op.failed = true
          // Alone in its batch, the transaction is the operation's savepoint.
          if (single) throw err
          if (savepoint) void send(`ROLLBACK TO SAVEPOINT s${i}`)
        }
      }
      const commit = begun && !finished ? conn.unsafe('COMMIT') : null
      finished = true
      const outcomes = await Promise.allSettled(inFlight.map((f) => f.running))
      const committed = commit ? await commit : null
      let rolledBack: unknown = committed !== null && committed.command !== 'COMMIT' ? new Error(`COMMIT answered ${committed.command}`) : null
      for (let i = 0; i < inFlight.length; i++) {
        const { op } = inFlight[i]!
        const outcome = outcomes[i]!
        if (outcome.status === 'fulfilled') op.value = outcome.value
        else if (outcome.reason instanceof StaleGuess) op.stale = true
        else if (isServerError(outcome.reason)) rolledBack ??= outcome.reason
        else {
          op.hooks = []
          op.error = outcome.reason
          op.failed = true
        }
      }
      // A statement PostgreSQL refused aborts the transaction (or was its own): nothing was written.
      if (rolledBack !== null) throw new BatchRolledBack(rolledBack)
    } catch (err) {
      if (begun && !finished) await conn.unsafe('ROLLBACK').catch(() => {})
      await Promise.allSettled(inFlight.map((f) => f.running))
      throw err
    } finally {
      conn.release()
    }
  }

  /** Waits for queued writes to commit, then refuses new ones. */
  async close(): Promise<void> {
    this.closed = true
    while (this.running) await this.running
  }
}

/** An error PostgreSQL answered (the statement ran and was refused), as opposed to a lost connection. */
function isServerError(err: unknown): boolean {
  return err instanceof Error && err.name === 'PostgresError'
}

/** The batch's transaction rolled back (a statement in it was refused): nothing of it was written. */
class BatchRolledBack extends Error {
  constructor(readonly reason: unknown) {
    super('write batch rolled back')
  }
}

function reset(op: PendingOp, slowOnly: boolean): PendingOp {
  op.slowOnly = slowOnly
  op.stale = false
  op.hooks = []
  op.failed = false
  op.error = undefined
  op.value = undefined
  return op
}
