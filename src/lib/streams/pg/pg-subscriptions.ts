/**
 * Durable Streams subscriptions on PostgreSQL, shared by every node of one database.
 *
 * Each subscription operation (a control request, a store event some subscription cares about,
 * a deadline, a webhook's answer) runs in one transaction under one cluster-wide advisory lock:
 * it reads every subscription and the tails of the streams it may look at, decides with the
 * same synchronous code as on SQLite (subscriptions/engine.ts, links.ts, wake-state.ts), writes
 * what changed and commits. So two nodes never both start, claim or settle one wake. A commit
 * that changed something notifies the other nodes, which look again (re-arm their timers,
 * wake what their last look missed). Webhook POSTs and wake-event appends go out only after
 * the commit that decided them.
 *
 * The state is re-read on every operation: cheap for tens of subscriptions with hundreds of
 * links, and what keeps the nodes honest without a cache protocol (specs/scale-out.md).
 */
import { randomUUID } from 'node:crypto'
import { and, eq, gt, inArray, isNull, or, sql as dsql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { dsSigningKeys, dsSubscriptionLinks, dsSubscriptions } from '../../db/schema-pg/subscriptions'
import { streams } from '../../db/schema-pg/streams'
import { encodeOffset } from '../offsets'
import type { StreamAccess, StreamDescription, StreamSnapshot } from '../seams'
import type { SubscriptionHost, SubscriptionTx, SubscriptionWrites } from '../subscriptions/host'
import { buildSubscriptions, completeKeys, type Subscriptions, type SubscriptionsSettings } from '../subscriptions'
import { fromRow, toRow } from '../subscriptions/repo'
import type { StoredKey } from '../subscriptions/signing'
import type { StreamLink, Subscription } from '../subscriptions/types'

const CHANNEL = 'tether_subscriptions'
/** pg_advisory_xact_lock(classid, objid): "ts" for Tether subscriptions, one lock for all of them. */
const LOCK = [0x7473, 1] as const

type Tx = Parameters<Parameters<PostgresJsDatabase['transaction']>[0]>[0]
type Write = (tx: Tx) => Promise<unknown>

async function lock(tx: Tx): Promise<void> {
  await tx.execute(dsql`SELECT pg_advisory_xact_lock(${LOCK[0]}, ${LOCK[1]})`)
}

async function loadAll(tx: Tx): Promise<Map<string, Subscription>> {
  const links = new Map<string, StreamLink[]>()
  for (const l of await tx.select().from(dsSubscriptionLinks)) {
    const list = links.get(l.subscriptionId) ?? []
    list.push({ path: l.path, explicit: l.explicit, glob: l.glob, ackedOffset: l.ackedOffset })
    links.set(l.subscriptionId, list)
  }
  const rows = await tx.select().from(dsSubscriptions)
  return new Map(rows.map((r) => [r.id, fromRow(r, links.get(r.id) ?? [])]))
}

/** The streams an operation may describe, read in this transaction; other paths read as absent. */
async function snapshot(tx: Tx, paths: Set<string>, all: boolean, now: number): Promise<StreamSnapshot> {
  const live = or(isNull(streams.deadlineAt), gt(streams.deadlineAt, now))
  const columns = { path: streams.path, tailSeq: streams.tailSeq, tailPos: streams.tailPos, closed: streams.closed, contentType: streams.contentType }
  const where = all
    ? and(eq(streams.softDeleted, 0), live)
    : and(inArray(streams.path, [...paths]), eq(streams.softDeleted, 0), live)
  const rows = all || paths.size > 0 ? await tx.select(columns).from(streams).where(where) : []
  const described = new Map<string, StreamDescription>(
    rows.map((r) => [
      r.path,
      { tailOffset: encodeOffset({ seq: r.tailSeq, pos: r.tailPos }), closed: r.closed !== 0, contentType: r.contentType },
    ]),
  )
  return {
    describe: (path) => described.get(path) ?? null,
    listPaths: () => {
      if (!all) throw new Error('subscriptions: an operation listed the streams without asking for them')
      return [...described.keys()]
    },
  }
}

/** The repo's calls, kept in order and written when the operation is done. */
function bufferedWrites(): { repo: SubscriptionWrites; writes: Write[] } {
  const writes: Write[] = []
  const upsertState = (s: Subscription): Write => {
    const row = toRow(s)
    return (tx) => tx.insert(dsSubscriptions).values(row).onConflictDoUpdate({ target: dsSubscriptions.id, set: row })
  }
  const upsertLinks = (subscriptionId: string, links: StreamLink[]): Write => {
    const rows = links.map((l) => ({ subscriptionId, path: l.path, explicit: l.explicit, glob: l.glob, ackedOffset: l.ackedOffset }))
    return async (tx) => {
      if (rows.length === 0) return
      await tx
        .insert(dsSubscriptionLinks)
        .values(rows)
        .onConflictDoUpdate({
          target: [dsSubscriptionLinks.subscriptionId, dsSubscriptionLinks.path],
          set: { explicit: dsql`excluded.explicit`, glob: dsql`excluded.glob`, ackedOffset: dsql`excluded.acked_offset` },
        })
    }
  }
  const dropLinks = (subscriptionId: string, paths?: string[]): Write => (tx) =>
    tx
      .delete(dsSubscriptionLinks)
      .where(
        paths
          ? and(eq(dsSubscriptionLinks.subscriptionId, subscriptionId), inArray(dsSubscriptionLinks.path, paths))
          : eq(dsSubscriptionLinks.subscriptionId, subscriptionId),
      )
  // Each write captures the values as they are now: later changes in the same operation add their own write.
  const repo: SubscriptionWrites = {
    saveState: (s) => void writes.push(upsertState(s)),
    saveAll: (s) => void writes.push(dropLinks(s.id), upsertState(s), upsertLinks(s.id, [...s.links.values()])),
    saveLinks: (id, links) => void (links.length > 0 && writes.push(upsertLinks(id, links.map((l) => ({ ...l }))))),
    deleteLinks: (id, paths) => void (paths.length > 0 && writes.push(dropLinks(id, [...paths]))),
    deleteSubscription: (id) =>
      void writes.push(dropLinks(id), (tx) => tx.delete(dsSubscriptions).where(eq(dsSubscriptions.id, id))),
  }
  return { repo, writes }
}

export interface PgSubscriptionHost extends SubscriptionHost {
  /** Resolves once this node hears the other nodes' changes. */
  readonly listening: Promise<void>
}

export function pgSubscriptionHost(pg: { sql: Sql; db: PostgresJsDatabase }, now: () => number = Date.now): PgSubscriptionHost {
  const nodeTag = randomUUID()
  let cache = new Map<string, Subscription>()
  let tail: Promise<unknown> = Promise.resolve()
  const remote = new Set<() => void>()
  let closed = false
  // Other nodes' changes heard, and the newest count a finished operation's load began after:
  // while they differ the cache may miss a subscription (`stale`). Without this an append landing
  // while a refresh loaded another node's new subscription found it in neither (the refresh had
  // looked at the streams before the append; the append's check saw the old cache): a lost wake.
  let heard = 0
  let loaded = 0

  const run = <T>(need: { paths?: readonly string[]; all?: boolean }, op: (tx: SubscriptionTx) => T | Promise<T>) => {
    const result = tail.then(async () => {
      const effects: (() => void)[] = []
      // What this operation's load reflects: every change heard before it read, under the lock.
      let seen = 0
      const done = await pg.db.transaction(async (tx) => {
        await lock(tx)
        seen = heard
        const subs = await loadAll(tx)
        const paths = new Set(need.paths ?? [])
        for (const sub of subs.values()) for (const path of sub.links.keys()) paths.add(path)
        const streamsNow = await snapshot(tx, paths, need.all ?? false, now())
        const { repo, writes } = bufferedWrites()
        const value = await op({ subs, streams: streamsNow, repo, after: (effect) => void effects.push(effect) })
        for (const write of writes) await write(tx)
        if (writes.length > 0) await tx.execute(dsql`SELECT pg_notify(${CHANNEL}, ${nodeTag})`)
        return { value, subs }
      })
      cache = done.subs
      if (seen > loaded) loaded = seen
      for (const effect of effects) effect()
      return done.value
    })
    tail = result.catch(() => {})
    return result
  }

  const tellRemote = () => {
    heard++
    if (!closed) for (const listener of remote) listener()
  }
  let listenedBefore = false
  const listenHandle = pg.sql.listen(
    CHANNEL,
    (payload) => {
      if (payload !== nodeTag) tellRemote()
    },
    () => {
      // Changes made while this node was not listening were never announced to it: look again.
      if (listenedBefore) tellRemote()
      listenedBefore = true
    },
  )

  return {
    run,
    listening: listenHandle.then(() => undefined),
    cached: () => cache,
    stale: () => heard !== loaded,
    onRemoteChange: (listener) => void remote.add(listener),
    async close() {
      closed = true
      await tail
      await listenHandle.then((h) => h.unlisten()).catch(() => {})
    },
  }
}

/** Signing keys shared by every node: the first node to start makes the missing ones. */
export async function sharedSigningKeys(db: PostgresJsDatabase, nowMs: number): Promise<StoredKey[]> {
  return db.transaction(async (tx) => {
    await lock(tx)
    const have = (await tx.select().from(dsSigningKeys)).map((k) => ({ ...k }))
    const made: StoredKey[] = []
    const keys = completeKeys(nowMs, have, (k) => void made.push(k))
    if (made.length > 0) await tx.insert(dsSigningKeys).values(made)
    return keys
  })
}

/** Subscriptions for a PostgreSQL streams node; every node of the database serves the same ones. */
export async function createPgSubscriptions(
  opts: SubscriptionsSettings & { pg: { sql: Sql; db: PostgresJsDatabase }; access: StreamAccess },
): Promise<Subscriptions> {
  const now = opts.clock ? () => opts.clock!.now() : Date.now
  const keys = await sharedSigningKeys(opts.pg.db, now())
  const host = pgSubscriptionHost(opts.pg, now)
  await host.listening
  const subs = buildSubscriptions(opts, { host, access: opts.access, keys })
  await subs.ready
  return subs
}
