/** Webhook endpoints, their cursors into `__tether/lifecycle`, and the delivery log, in SQLite. */
import { randomBytes } from 'node:crypto'
import { and, desc, eq, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { webhookDeliveries, webhookEndpoints, type WebhookDeliveryRow } from '../db/schema/webhooks'
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
const KEEP_DELIVERIES = 1000

export class WebhookStore {
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

  insert(input: { url: string; events: LifecycleEventType[]; description: string | null; createdBy: string | null; cursorOffset: string }): WebhookEndpoint {
    const row = {
      id: `wh_${randomBytes(9).toString('base64url')}`,
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

  logAttempt(row: Omit<WebhookDeliveryRow, 'id' | 'at'>): Delivery {
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

function toEndpoint(row: typeof webhookEndpoints.$inferSelect): WebhookEndpoint {
  return { ...row, events: JSON.parse(row.events) as LifecycleEventType[] }
}
