/**
 * The session store with the ledger folded into usage. Usage otherwise comes from what agents
 * report in the stream (agent-state), which a worker writes itself; the ledger is what the server
 * counted. The record shows the larger of the two for tokens and cost: a worker that reports less
 * (or crashes before reporting) cannot hide what the gateway spent, and one that reports more
 * only brings its own limit closer. The gateway's budget check reads the ledger alone.
 *
 * `withLedgerUsage` wraps any SessionStore (SQLite's or PostgreSQL's) with any Ledger and awaits
 * both when they answer promises; `LedgerSessionStore` is the older SQLite-only subclass, kept for
 * callers that construct it directly.
 */
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import type { SessionUsage } from '../sessions/fold'
import { UsageWrites, type SessionStore } from '../sessions/session-rows'
import { SqliteSessionStore } from '../sessions/session-store'
import type { MaybePromise } from '../streams/engine'
import type { Ledger, LedgerTotals, ModelLedger } from './ledger'

function withLedger(usage: SessionUsage, ledger: LedgerTotals): SessionUsage {
  return {
    ...usage,
    tokensIn: Math.max(usage.tokensIn, ledger.inputTokens),
    tokensOut: Math.max(usage.tokensOut, ledger.outputTokens),
    costUsd: Math.max(usage.costUsd, ledger.costUsd),
  }
}

/**
 * `then` on a value or a promise: a value stays synchronous (SQLite keeps one synchronous step).
 * Any thenable counts as a promise (drizzle's query builders are thenables, not Promises).
 */
function chain<T, U>(value: MaybePromise<T>, then: (v: T) => MaybePromise<U>): MaybePromise<U> {
  const thenable = typeof value === 'object' && value !== null && typeof (value as PromiseLike<T>).then === 'function'
  return thenable ? Promise.resolve(value).then(then) : then(value as T)
}

/**
 * `inner` with the ledger folded into every usage write. Every other method is forwarded as is.
 * noteUsage's dedupe (UsageWrites.noteDue) runs here, before the ledger is read, so an append that
 * would not be written costs no ledger read; a due write goes to inner.updateUsage, whose own
 * dedupe still skips an unchanged row.
 */
export function withLedgerUsage(inner: SessionStore, ledger: Ledger): SessionStore {
  const notes = new UsageWrites()
  const updateUsage = (id: string, usage: SessionUsage) => chain(ledger.totals(id), (totals) => inner.updateUsage(id, withLedger(usage, totals)))
  return {
    insert: (s) => inner.insert(s),
    get: (id) => inner.get(id),
    status: (id) => inner.status(id),
    list: (opts) => inner.list(opts),
    live: () => inner.live(),
    update: (id, patch, now) => inner.update(id, patch, now),
    updateWith: (id, decide, now) => inner.updateWith(id, decide, now),
    updateUsage,
    noteUsage: (id, usage) => (notes.noteDue(id, usage) ? updateUsage(id, usage) : undefined),
    transition: (id, from, status, now, endReason) => inner.transition(id, from, status, now, endReason),
    forksOf: (id, limit) => inner.forksOf(id, limit),
    remove: (id) =>
      chain(inner.remove(id), (gone) => {
        notes.forget(id)
        return gone
      }),
    endedEphemeralBefore: (before) => inner.endedEphemeralBefore(before),
    stats: (onlyId) => inner.stats(onlyId),
  }
}

export class LedgerSessionStore extends SqliteSessionStore {
  constructor(
    db: BetterSQLite3Database,
    private readonly ledger: ModelLedger,
  ) {
    super(db)
  }

  override updateUsage(id: string, usage: SessionUsage): void {
    super.updateUsage(id, withLedger(usage, this.ledger.totals(id)))
  }
}
