/**
 * Durable Streams subscriptions (PROTOCOL.md sections 6-7): one row per subscription (its
 * configuration plus the wake/lease/retry state that must survive a restart), one row per
 * linked stream (the cursor), and the server's signing material.
 */
import { bigint, boolean, pgTable, primaryKey, text } from 'drizzle-orm/pg-core'

export const dsSubscriptions = pgTable('ds_subscriptions', {
  id: text('id').primaryKey(),
  /** Random per creation, carried in tokens, so a token for a deleted-and-recreated id is dead. */
  incarnation: text('incarnation').notNull(),
  type: text('type', { enum: ['webhook', 'pull-wake'] }).notNull(),
  pattern: text('pattern'),
  /** JSON array of the explicit streams given at creation (part of the config hash). */
  configStreams: text('config_streams').notNull(),
  webhookUrl: text('webhook_url'),
  wakeStream: text('wake_stream'),
  leaseTtlMs: bigint('lease_ttl_ms', { mode: 'number' }).notNull(),
  description: text('description'),
  configHash: text('config_hash').notNull(),
  createdAt: text('created_at').notNull(),
  /** Absolute URLs captured from the creating request, so wakes sent later carry them. */
  callbackUrl: text('callback_url').notNull(),
  jwksUrl: text('jwks_url').notNull(),
  status: text('status', { enum: ['active', 'failed'] }).notNull(),
  generation: bigint('generation', { mode: 'number' }).notNull(),
  wakeId: text('wake_id'),
  /** JSON object path -> tail offset offered by the current wake (auto-ack on `done`). */
  wakeSnapshot: text('wake_snapshot'),
  holder: text('holder'),
  leaseExpiresAt: bigint('lease_expires_at', { mode: 'number' }),
  retryCount: bigint('retry_count', { mode: 'number' }).notNull(),
  nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }),
})

export const dsSubscriptionLinks = pgTable(
  'ds_subscription_links',
  {
    subscriptionId: text('subscription_id').notNull(),
    path: text('path').notNull(),
    explicit: boolean('explicit').notNull(),
    glob: boolean('glob').notNull(),
    ackedOffset: text('acked_offset').notNull(),
  },
  (t) => [primaryKey({ columns: [t.subscriptionId, t.path] })],
)

export const dsSigningKeys = pgTable('ds_signing_keys', {
  kid: text('kid').primaryKey(),
  /** `webhook-ed25519` (PKCS#8 PEM private key) or `token-hs256` (base64url secret). */
  kind: text('kind', { enum: ['webhook-ed25519', 'token-hs256'] }).notNull(),
  material: text('material').notNull(),
  publicJwk: text('public_jwk'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
})
