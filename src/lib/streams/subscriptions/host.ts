/**
 * Where the subscription engine's operations run. The engine's decisions (links.ts,
 * wake-state.ts) are synchronous over a `Subscription` and a synchronous view of the streams;
 * a host gives each operation both, one operation at a time, and keeps what it changed.
 *
 * - `localHost` (SQLite, or memory): the working copy is the truth, the streams view is the
 *   SQLite store itself, and every change is written through to the repo at once.
 * - The PostgreSQL host (streams/pg/pg-subscriptions.ts): each operation runs in a transaction
 *   under one cluster-wide lock, on state read fresh from the database, so several nodes share
 *   the subscriptions and never both act on one wake.
 */
import type { StreamSnapshot } from '../seams'
import type { SubscriptionRepo } from './repo'
import type { Subscription } from './types'

/** The writes an operation makes; the same calls as the repo's (write-through or buffered). */
export type SubscriptionWrites = Pick<SubscriptionRepo, 'saveState' | 'saveAll' | 'saveLinks' | 'deleteLinks' | 'deleteSubscription'>

export interface SubscriptionTx {
  /** Every subscription, current for this operation; changes are made on these objects. */
  readonly subs: Map<string, Subscription>
  /** The streams this operation may describe: its linked paths, `need.paths`, and all paths if `need.all`. */
  readonly streams: StreamSnapshot
  readonly repo: SubscriptionWrites
  /** Runs once the operation's changes are kept (a webhook POST, a wake event append). */
  after(effect: () => void): void
}

/** Streams an operation describes beyond the linked ones; `all` when it lists every path. */
export interface StreamNeed {
  paths?: readonly string[]
  all?: boolean
}

export interface SubscriptionHost {
  run<T>(need: StreamNeed, op: (tx: SubscriptionTx) => T | Promise<T>): Promise<T>
  /**
   * The subscriptions as of the last operation on this node: a cheap first look (does any
   * subscription care about this append?). On PostgreSQL it may lag another node's change;
   * `onRemoteChange` then tells the engine to look again.
   */
  cached(): ReadonlyMap<string, Subscription>
  /**
   * PostgreSQL: this node heard of another node's change that no finished operation has loaded
   * yet, so `cached()` may miss a subscription (absent: the local host's cache is always current).
   */
  stale?(): boolean
  /** Another node changed the subscriptions (PostgreSQL); never called by the local host. */
  onRemoteChange(listener: () => void): void
  close(): void | Promise<void>
}

/** One node owns the subscriptions: operations run in order on the in-memory copy. */
export function localHost(repo: SubscriptionRepo, streams: StreamSnapshot): SubscriptionHost {
  const subs = new Map(repo.loadAll().map((s) => [s.id, s]))
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run(_need, op) {
      const result = tail.then(async () => {
        const effects: (() => void)[] = []
        const value = await op({ subs, streams, repo, after: (effect) => void effects.push(effect) })
        for (const effect of effects) effect()
        return value
      })
      tail = result.catch(() => {})
      return result
    },
    cached: () => subs,
    onRemoteChange() {},
    close() {},
  }
}
