/**
 * Durable Streams subscriptions (webhook and pull-wake) for our streams server.
 *
 *   const subs = createSubscriptions({ access, db })
 *   createStreamsServer({ reserved: subs, listeners: [subs], ... })  // wiring per H1's API
 *
 * The returned object is both the `__ds/...` router and the store's lifecycle listener.
 */
import type Database from 'better-sqlite3'
import type { ReservedRouter, StreamAccess, StreamLifecycleListener } from '../seams'
import { fetchWebhookPoster, nodeWebhookPoster, type WebhookPoster } from './deliver'
import { SubscriptionEngine } from './engine'
import { silentLogger, type Logger } from '../../common/logger'
import { memoryRepo, sqliteRepo, type SubscriptionRepo } from './repo'
import { subscriptionRoutes } from './routes'
import { generateTokenSecret, generateWebhookKey, WakeTokens, WebhookSigner } from './signing'

export interface SubscriptionsOptions {
  /** The stream store, as seen through the seam. */
  access: StreamAccess
  /**
   * SQLite database holding the `ds_subscriptions`, `ds_subscription_links` and
   * `ds_signing_keys` tables (drizzle migrations applied). Without it, subscriptions and
   * signing keys last only as long as the process.
   */
  db?: Database.Database
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

export type Subscriptions = ReservedRouter & Required<StreamLifecycleListener>

export function createSubscriptions(opts: SubscriptionsOptions): Subscriptions {
  const now = opts.clock ? () => opts.clock!.now() : Date.now
  const allowLoopbackWebhooks = opts.allowLoopbackWebhooks ?? false
  const repo: SubscriptionRepo = opts.db ? sqliteRepo(opts.db) : memoryRepo()

  let keys = repo.loadKeys()
  if (!keys.some((k) => k.kind === 'webhook-ed25519')) repo.saveKey(generateWebhookKey(now()))
  if (!keys.some((k) => k.kind === 'token-hs256')) repo.saveKey(generateTokenSecret(now()))
  keys = repo.loadKeys()
  const tokenSecret = keys.filter((k) => k.kind === 'token-hs256').sort((a, b) => b.createdAt - a.createdAt)[0]

  const signer = new WebhookSigner(keys)
  const tokens = new WakeTokens(tokenSecret, opts.tokenTtlMs ?? 24 * 60 * 60 * 1000)
  const post: WebhookPoster = opts.fetch ? fetchWebhookPoster(opts.fetch) : nodeWebhookPoster({ allowLoopback: allowLoopbackWebhooks })

  const engine = new SubscriptionEngine({
    access: opts.access,
    repo,
    signer,
    tokens,
    post,
    now,
    random: opts.random ?? Math.random,
    webhookTimeoutMs: opts.webhookTimeoutMs ?? 10_000,
    log: opts.log ?? silentLogger,
  })
  engine.restore()
  const handle = subscriptionRoutes({ engine, signer, access: opts.access, allowLoopbackWebhooks })

  return {
    handle,
    close: () => engine.close(),
    onCreated: (path, startOffset) => engine.onCreated(path, startOffset),
    onAppended: (path, tail) => engine.onAppended(path, tail),
    onClosed: (path) => engine.onClosed(path),
    onDeleted: (path) => engine.onDeleted(path),
  }
}

export { checkWebhookUrl, isBlockedAddress } from './webhook-url'
export { globMatch } from './paths'
