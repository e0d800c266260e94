import { bigint, bigserial, index, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * Lifecycle webhook endpoints (src/lib/ops/webhooks*.ts). Events come from the `__tether/lifecycle`
 * stream; each endpoint keeps its own cursor into it: the stream offset of a read and how many of
 * the messages after that offset are done (delivered, failed for good, or filtered out). The
 * cursor moves only after an event is settled, so a crash redelivers it (at-least-once).
 */
export const webhookEndpoints = pgTable('webhook_endpoints', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** JSON array of event types; empty = every type. */
  events: text('events').notNull(),
  description: text('description'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  createdBy: text('created_by'),
  cursorOffset: text('cursor_offset').notNull(),
  cursorSkip: bigint('cursor_skip', { mode: 'number' }).notNull().default(0),
})

/** One row per delivery attempt (the admin's delivery log). */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    endpointId: text('endpoint_id').notNull(),
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    attempt: bigint('attempt', { mode: 'number' }).notNull(),
    /** The receiver's HTTP status, null when there was no answer (timeout, refused). */
    status: bigint('status', { mode: 'number' }),
    outcome: text('outcome', { enum: ['delivered', 'retrying', 'failed'] }).notNull(),
    error: text('error'),
    at: bigint('at', { mode: 'number' }).notNull(),
  },
  (t) => [index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id)],
)

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect
