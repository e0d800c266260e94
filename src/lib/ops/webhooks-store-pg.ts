/**
 * Webhook endpoints and their delivery log in PostgreSQL (issue #14): the WebhookStore of
 * webhooks-store.ts on drizzle's postgres-js dialect and the schema-pg tables. Every answer is a
 * promise. The endpoint's delete and its log's delete are one transaction, and a logged attempt
 * with its trim of old rows is one statement, so no reader sees half of either.
 */
import { and, desc, eq, sql } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { webhookDeliveries, webhookEndpoints } from '../db/schema-pg/webhooks'
import {
  KEEP_DELIVERIES,
  newWebhookId,
  toEndpoint,
  type Delivery,
  type NewAttempt,
  type NewEndpoint,
  type WebhookEndpoint,
  type WebhookStore,
} from './webhooks-store'

export class PgWebhookStore implements WebhookStore {
  constructor(
    private readonly db: PostgresJsDatabase,
    private readonly now: () => number,
  ) {}

  async list(): Promise<WebhookEndpoint[]> {
    // id breaks ties: two endpoints made in one millisecond still list in a stable order.
    const rows = await this.db.select().from(webhookEndpoints).orderBy(webhookEndpoints.createdAt, webhookEndpoints.id)
    return rows.map(toEndpoint)
  }

  async get(id: string): Promise<WebhookEndpoint | null> {
    const [row] = await this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id))
    return row ? toEndpoint(row) : null
  }

  async insert(input: NewEndpoint): Promise<WebhookEndpoint> {
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
    await this.db.insert(webhookEndpoints).values(row)
    return toEndpoint(row)
  }

  async remove(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const gone = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id })
      await tx.delete(webhookDeliveries).where(eq(webhookDeliveries.endpointId, id))
      return gone.length > 0
    })
  }

  async setCursor(id: string, offset: string, skip: number): Promise<void> {
    await this.db.update(webhookEndpoints).set({ cursorOffset: offset, cursorSkip: skip }).where(eq(webhookEndpoints.id, id))
  }

  async logAttempt(row: NewAttempt): Promise<Delivery> {
    const at = this.now()
    // One statement, one round trip (this runs per attempt): the insert and the trim behind it.
    const [inserted] = await this.db.execute<{ id: number }>(sql`
      WITH ins AS (
        INSERT INTO ${webhookDeliveries} (endpoint_id, event_id, event_type, attempt, status, outcome, error, at)
        VALUES (${row.endpointId}, ${row.eventId}, ${row.eventType}, ${row.attempt}, ${row.status}, ${row.outcome}, ${row.error}, ${at})
        RETURNING id
      ), trim AS (
        DELETE FROM ${webhookDeliveries} WHERE endpoint_id = ${row.endpointId} AND id <= (SELECT id FROM ins) - ${KEEP_DELIVERIES}
      )
      SELECT id FROM ins`)
    const id = Number(inserted!.id)
    const { endpointId: _omit, ...rest } = { ...row, id, at }
    return rest
  }

  async deliveries(endpointId: string, limit = 100): Promise<Delivery[]> {
    const rows = await this.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpointId))
      .orderBy(desc(webhookDeliveries.id))
      .limit(limit)
    return rows.map(({ endpointId: _omit, ...rest }) => rest)
  }

  async lastAttempt(endpointId: string, eventId: string): Promise<{ attempt: number; eventType: string } | null> {
    const [row] = await this.db
      .select({ attempt: webhookDeliveries.attempt, eventType: webhookDeliveries.eventType })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, endpointId), eq(webhookDeliveries.eventId, eventId)))
      .orderBy(desc(webhookDeliveries.attempt))
      .limit(1)
    return row ?? null
  }
}
