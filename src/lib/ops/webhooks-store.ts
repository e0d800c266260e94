/**
 * Webhook endpoints, their cursors into `__tether/lifecycle`, and the delivery log. The
 * `WebhookStore` interface is what callers use; this SQLite one answers values (synchronous, as
 * better-sqlite3), the PostgreSQL one (webhooks-store-pg.ts) promises, and callers await both.
 */
import { randomBytes } from 'node:crypto'
import { and, desc, eq, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { webhookDeliveries, webhookEndpoints, type WebhookDeliveryRow } from '../db/schema/webhooks'
import type { MaybePromise } from '../streams/engine'
import type { LifecycleEventType } from './lifecycle'

export interface WebhookEndpoint {
  id: string
  url: string
  /** Empty: every event type. */
  events: LifecycleEventType[]
  description: string | null
  createdAt: number
  createdBy: string | null
  cursorOffset: string
  cursorSkip: number
}

export type DeliveryOutcome = WebhookDeliveryRow['outcome']
export type Delivery = Omit<WebhookDeliveryRow, 'endpointId'>

/** Most delivery-log rows kept per endpoint (older ones are dropped as new ones come). */
export const KEEP_DELIVERIES = 1000

export type NewEndpoint = { url: string; events: LifecycleEventType[]; description: string | null; createdBy: string | null; cursorOffset: string }
export type NewAttempt = Omit<WebhookDeliveryRow, 'id' | 'at'>

export interface WebhookStore {
  /** Oldest first. */
  list(): MaybePromise<WebhookEndpoint[]>
  get(id: string): MaybePromise<WebhookEndpoint | null>
  insert(input: NewEndpoint): MaybePromise<WebhookEndpoint>
  /** True when there was such an endpoint; its delivery log goes with it. */
  remove(id: string): MaybePromise<boolean>
  /** Durable before the next event is sent: a crash resumes after the last settled event. */
  setCursor(id: string, offset: string, skip: number): MaybePromise<void>
  /** Logs an attempt and drops the endpoint's rows older than the newest KEEP_DELIVERIES. */
  logAttempt(row: NewAttempt): MaybePromise<Delivery>
  /** Newest first. */
  deliveries(endpointId: string, limit?: number): MaybePromise<Delivery[]>
  /** The highest attempt number logged for an event, or null when none. */
  lastAttempt(endpointId: string, eventId: string): MaybePromise<{ attempt: number; eventType: string } | null>
}

export const newWebhookId = () => `wh_${randomBytes(9).toString('base64url')}`

export function toEndpoint(row: { events: string } & Omit<WebhookEndpoint, 'events'>): WebhookEndpoint {
  return { ...row, events: JSON.parse(row.events) as LifecycleEventType[] }
}

export class SqliteWebhookStore implements WebhookStore {
  constructor(
    private readonly db: BetterSQLite3Database,
    private readonly now: () => number,
  ) {}

  list(): WebhookEndpoint[] {
    return this.db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt).all().map(toEndpoint)
  }

  get(id: string): WebhookEndpoint | null {
    const row = this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).get()
    return row ? toEndpoint(row) : null
  }

  insert(input: NewEndpoint): WebhookEndpoint {
    const row = {
      id: newWebhookId(),
      url: input.url,
      events: JSON.stringify(input.events),
      description: input.description,
      createdAt: this.now(),
      createdBy: input.createdBy,
      cursorOffset: input.cursorOffset,
      cursorSkip: 0,
    }
    this.db.insert(webhookEndpoints).values(row).run()
    return toEndpoint(row)
  }

  remove(id: string): boolean {
    const gone = this.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).run().changes > 0
    this.db.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id)).run()
    return gone
  }

  /** Durable before the next event is sent: a crash resumes after the last settled event. */
  setCursor(id: string, offset: string, skip: number): void {
    this.db.update(webhookEndpoints).set({ cursorOffset: offset, cursorSkip: skip }).where(eq(webhookEndpoints.id, id)).run()
  }

  logAttempt(row: NewAttempt): Delivery {
    const at = this.now()
    const inserted = this.db
      .insert(webhookDeliveries)
      .values({ ...row, at })
      .returning({ id: webhookDeliveries.id })
      .get()
    this.db
      .delete(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.endpointId, row.endpointId),
          sql`${webhookDeliveries.id} <= ${inserted.id - KEEP_DELIVERIES}`,
        ),
      )
      .run()
    const { endpointId: _omit, ...rest } = { ...row, id: inserted.id, at }
    return rest
  }

  /** Newest first. */
  deliveries(endpointId: string, limit = 100): Delivery[] {
    return this.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpointId))
      .orderBy(desc(webhookDeliveries.id))
      .limit(limit)
      .all()
      .map(({ endpointId: _omit, ...rest }) => rest)
  }

  /** The highest attempt number logged for an event (0 when none). */
  lastAttempt(endpointId: string, eventId: string): { attempt: number; eventType: string } | null {
    const row = this.db
      .select({ attempt: webhookDeliveries.attempt, eventType: webhookDeliveries.eventType })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.eventId, eventId)))
      .orderBy(desc(webhookDeliveries.attempt))
      .limit(1)
      .get()
    return row ?? null
  }
}
