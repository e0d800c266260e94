/**
 * Durable Streams subscriptions (webhook and pull-wake) for our streams server.
 *
 *   const subs = createSubscriptions({ access: server.access, db: server.sqlite })
 *   server.setReserved(subs); server.addListener(subs)
 *
 * On PostgreSQL, streams/pg/pg-subscriptions.ts builds the same object over a shared host.
 * The returned object is both the `__ds/...` router and the store's lifecycle listener.
 */
import type Database from 'better-sqlite3'
import type { ReservedRouter, StreamAccess, StreamLifecycleListener, SyncStreamAccess } from '../seams'
import { fetchWebhookPoster, nodeWebhookPoster, type WebhookPoster } from './deliver'
import { SubscriptionEngine } from './engine'
import { localHost, type SubscriptionHost } from './host'
import { silentLogger, type Logger } from '../../common/logger'
import { memoryRepo, sqliteRepo, type SubscriptionRepo } from './repo'
import { subscriptionRoutes } from './routes'
import { generateTokenSecret, generateWebhookKey, WakeTokens, WebhookSigner, type StoredKey } from './signing'

/** What every subscriptions module is configured with, whatever keeps its state. */
export interface SubscriptionsSettings {
  /** Send webhooks with this fetch instead of the built-in SSRF-guarded node:http client. */
  fetch?: typeof fetch
  clock?: { now(): number }
  /**
   * Accept and deliver to loopback targets (`http(s)://localhost`, 127.0.0.0/8, [::1]).
   * Default false: only https to public hosts. Set it for development and tests.
   */
  allowLoopbackWebhooks?: boolean
  /** Abort a webhook POST that has not answered after this long (default 10 s). */
  webhookTimeoutMs?: number
  /** Lifetime of callback/claim tokens (default 24 h); fencing, not expiry, ends a wake. */
  tokenTtlMs?: number
  log?: Logger
  /** For deterministic retry jitter in tests; returns [0, 1). */
  random?: () => number
}

export interface SubscriptionsOptions extends SubscriptionsSettings {
  /** The SQLite stream store, as seen through the seam (its reads answer at once). */
  access: SyncStreamAccess
  /**
   * SQLite database holding the `ds_subscriptions`, `ds_subscription_links` and
   * `ds_signing_keys` tables (drizzle migrations applied). Without it, subscriptions and
   * signing keys last only as long as the process.
   */
  db?: Database.Database
}

export type Subscriptions = ReservedRouter & Required<StreamLifecycleListener> & {
  /** Resolves once persisted subscriptions are restored (links repaired, timers armed). */
  ready: Promise<void>
}

/** The signing keys every wake needs, with the missing kinds made (and saved by `save`). */
export function completeKeys(now: number, have: StoredKey[], save: (key: StoredKey) => void): StoredKey[] {
  const made: StoredKey[] = []
  if (!have.some((k) => k.kind === 'webhook-ed25519')) made.push(generateWebhookKey(now))
  if (!have.some((k) => k.kind === 'token-hs256')) made.push(generateTokenSecret(now))
  for (const key of made) save(key)
  return [...have, ...made]
}

/** Subscriptions on one node: state in memory, written through to SQLite when `db` is given. */
export function createSubscriptions(opts: SubscriptionsOptions): Subscriptions {
  const now = opts.clock ? () => opts.clock!.now() : Date.now
  const repo: SubscriptionRepo = opts.db ? sqliteRepo(opts.db) : memoryRepo()
  const keys = completeKeys(now(), repo.loadKeys(), (k) => repo.saveKey(k))
  return buildSubscriptions(opts, { host: localHost(repo, opts.access), access: opts.access, keys })
}

/** The engine and its routes over any host; `keys` holds at least one key of each kind. */
export function buildSubscriptions(
  opts: SubscriptionsSettings,
  parts: { host: SubscriptionHost; access: StreamAccess; keys: StoredKey[] },
): Subscriptions {
  const now = opts.clock ? () => opts.clock!.now() : Date.now
  const allowLoopbackWebhooks = opts.allowLoopbackWebhooks ?? false
  // The newest secret signs; ties (two made in one millisecond) go to the smaller kid, so every node picks the same.
  const tokenSecret = parts.keys
    .filter((k) => k.kind === 'token-hs256')
    .sort((a, b) => b.createdAt - a.createdAt || (a.kid < b.kid ? -1 : 1))[0]

  const signer = new WebhookSigner(parts.keys)
  const tokens = new WakeTokens(tokenSecret, opts.tokenTtlMs ?? 24 * 60 * 60 * 1000)
  const post: WebhookPoster = opts.fetch ? fetchWebhookPoster(opts.fetch) : nodeWebhookPoster({ allowLoopback: allowLoopbackWebhooks })

  const engine = new SubscriptionEngine({
    host: parts.host,
    access: parts.access,
    signer,
    tokens,
    post,
    now,
    random: opts.random ?? Math.random,
    webhookTimeoutMs: opts.webhookTimeoutMs ?? 10_000,
    log: opts.log ?? silentLogger,
  })
  const ready = engine.refresh(true)
  const handle = subscriptionRoutes({ engine, signer, access: parts.access, allowLoopbackWebhooks })

  return {
    handle,
    ready,
    close: () => {
      engine.close()
      void parts.host.close()
    },
    onCreated: (path, startOffset) => engine.onCreated(path, startOffset),
    onAppended: (path, tail) => engine.onAppended(path, tail),
    onClosed: (path) => engine.onClosed(path),
    onDeleted: (path) => engine.onDeleted(path),
  }
}

export { checkWebhookUrl, isBlockedAddress } from './webhook-url'
export { globMatch } from './paths'
