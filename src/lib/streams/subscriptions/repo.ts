/**
 * Where subscription state lives between restarts. The engine keeps the working copy in
 * memory and writes through synchronously after every change (better-sqlite3 is synchronous),
 * so a cursor is durable before the request that moved it is answered.
 */
import type Database from 'better-sqlite3'
import { and, eq } from 'drizzle-orm'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { dsSigningKeys, dsSubscriptionLinks, dsSubscriptions } from '../../db/schema/subscriptions'
import type { StoredKey } from './signing'
import type { StreamLink, Subscription } from './types'

export interface SubscriptionRepo {
  loadAll(): Subscription[]
  /** Row only (config + wake/lease/retry state). */
  saveState(sub: Subscription): void
  /** Row and every link, replacing the stored links. */
  saveAll(sub: Subscription): void
  saveLinks(subscriptionId: string, links: StreamLink[]): void
  deleteLinks(subscriptionId: string, paths: string[]): void
  deleteSubscription(id: string): void
  loadKeys(): StoredKey[]
  saveKey(key: StoredKey): void
}

/** No persistence: state and keys last as long as the process. */
export function memoryRepo(): SubscriptionRepo {
  const keys: StoredKey[] = []
  return {
    loadAll: () => [],
    saveState: () => {},
    saveAll: () => {},
    saveLinks: () => {},
    deleteLinks: () => {},
    deleteSubscription: () => {},
    loadKeys: () => [...keys],
    saveKey: (k) => void keys.push(k),
  }
}

type Row = typeof dsSubscriptions.$inferInsert

export function toRow(s: Subscription): Row {
  return {
    id: s.id,
    incarnation: s.incarnation,
    type: s.config.type,
    pattern: s.config.pattern,
    configStreams: JSON.stringify(s.config.streams),
    webhookUrl: s.config.webhookUrl,
    wakeStream: s.config.wakeStream,
    leaseTtlMs: s.config.leaseTtlMs,
    description: s.config.description,
    configHash: s.configHash,
    createdAt: s.createdAt,
    callbackUrl: s.callbackUrl,
    jwksUrl: s.jwksUrl,
    status: s.status,
    generation: s.generation,
    wakeId: s.wakeId,
    wakeSnapshot: s.wakeSnapshot === null ? null : JSON.stringify(s.wakeSnapshot),
    holder: s.holder,
    leaseExpiresAt: s.leaseExpiresAt,
    retryCount: s.retryCount,
    nextAttemptAt: s.nextAttemptAt,
  }
}

export function fromRow(r: typeof dsSubscriptions.$inferSelect, links: StreamLink[]): Subscription {
  return {
    id: r.id,
    incarnation: r.incarnation,
    config: {
      type: r.type,
      pattern: r.pattern,
      streams: JSON.parse(r.configStreams) as string[],
      webhookUrl: r.webhookUrl,
      wakeStream: r.wakeStream,
      leaseTtlMs: r.leaseTtlMs,
      description: r.description,
    },
    configHash: r.configHash,
    createdAt: r.createdAt,
    callbackUrl: r.callbackUrl,
    jwksUrl: r.jwksUrl,
    status: r.status,
    generation: r.generation,
    wakeId: r.wakeId,
    wakeSnapshot: r.wakeSnapshot === null ? null : (JSON.parse(r.wakeSnapshot) as Record<string, string>),
    holder: r.holder,
    leaseExpiresAt: r.leaseExpiresAt,
    retryCount: r.retryCount,
    nextAttemptAt: r.nextAttemptAt,
    links: new Map(links.map((l) => [l.path, l])),
  }
}

/**
 * Persists in the app's SQLite database. The tables come from the drizzle migrations in
 * drizzle/ (schema: src/lib/db/schema/subscriptions.ts); whoever owns the connection runs them.
 */
export function sqliteRepo(sqlite: Database.Database): SubscriptionRepo {
  const present = sqlite
    .prepare(
      `SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('ds_subscriptions', 'ds_subscription_links', 'ds_signing_keys')`,
    )
    .get() as { n: number }
  if (present.n !== 3) {
    throw new Error('subscription tables missing: apply the drizzle migrations (drizzle/) to this database first')
  }
  const db: BetterSQLite3Database = drizzle(sqlite)

  const upsertState = (s: Subscription) => {
    const row = toRow(s)
    db.insert(dsSubscriptions).values(row).onConflictDoUpdate({ target: dsSubscriptions.id, set: row }).run()
  }
  const upsertLinks = (subscriptionId: string, links: StreamLink[]) => {
    for (const l of links) {
      const row = { subscriptionId, path: l.path, explicit: l.explicit, glob: l.glob, ackedOffset: l.ackedOffset }
      db.insert(dsSubscriptionLinks)
        .values(row)
        .onConflictDoUpdate({ target: [dsSubscriptionLinks.subscriptionId, dsSubscriptionLinks.path], set: row })
        .run()
    }
  }

  return {
    loadAll() {
      const links = new Map<string, StreamLink[]>()
      for (const l of db.select().from(dsSubscriptionLinks).all()) {
        const list = links.get(l.subscriptionId) ?? []
        list.push({ path: l.path, explicit: l.explicit, glob: l.glob, ackedOffset: l.ackedOffset })
        links.set(l.subscriptionId, list)
      }
      return db
        .select()
        .from(dsSubscriptions)
        .all()
        .map((r) => fromRow(r, links.get(r.id) ?? []))
    },
    saveState: upsertState,
    saveAll(s) {
      db.transaction((tx) => {
        tx.delete(dsSubscriptionLinks).where(eq(dsSubscriptionLinks.subscriptionId, s.id)).run()
        upsertState(s)
        upsertLinks(s.id, [...s.links.values()])
      })
    },
    saveLinks(subscriptionId, links) {
      if (links.length === 0) return
      db.transaction(() => upsertLinks(subscriptionId, links))
    },
    deleteLinks(subscriptionId, paths) {
      if (paths.length === 0) return
      db.transaction((tx) => {
        for (const path of paths) {
          tx.delete(dsSubscriptionLinks)
            .where(and(eq(dsSubscriptionLinks.subscriptionId, subscriptionId), eq(dsSubscriptionLinks.path, path)))
            .run()
        }
      })
    },
    deleteSubscription(id) {
      db.transaction((tx) => {
        tx.delete(dsSubscriptionLinks).where(eq(dsSubscriptionLinks.subscriptionId, id)).run()
        tx.delete(dsSubscriptions).where(eq(dsSubscriptions.id, id)).run()
      })
    },
    loadKeys() {
      return db
        .select()
        .from(dsSigningKeys)
        .all()
        .map((k) => ({ kid: k.kid, kind: k.kind, material: k.material, publicJwk: k.publicJwk, createdAt: k.createdAt }))
    },
    saveKey(k) {
      db.insert(dsSigningKeys).values(k).run()
    },
  }
}
