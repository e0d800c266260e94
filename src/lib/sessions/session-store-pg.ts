/**
 * Session records in PostgreSQL (issue #14, specs/scale-out.md): the SessionStore of
 * session-store.ts on drizzle's postgres-js dialect and the schema-pg tables. Every answer is a
 * promise. A decision that reads the row before writing it (update with an agent list,
 * updateWith) runs in one transaction holding the row lock (`SELECT … FOR UPDATE`), so two nodes
 * changing one session's agents cannot both start from the same list; transition stays one
 * `UPDATE … WHERE status IN (…)`.
 */
import { and, desc, eq, inArray, isNotNull, lt, sql, type SQL } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { sessions } from '../db/schema-pg/sessions'
import type { SessionUsage } from './fold'
import {
  decodeCursor,
  newRow,
  pageOf,
  patchColumns,
  patchNeedsCurrent,
  statsOf,
  toRecord,
  transitionColumns,
  UsageWrites,
  type ListOptions,
  type NewSession,
  type SessionPage,
  type SessionPatch,
  type SessionStatusRow,
  type SessionStore,
} from './session-rows'
import type { SessionRecord, SessionStats, SessionStatus } from './session-types'

type Tx = Parameters<Parameters<PostgresJsDatabase['transaction']>[0]>[0]

export class PgSessionStore implements SessionStore {
  private readonly usageWrites = new UsageWrites()

  constructor(private readonly db: PostgresJsDatabase) {}

  async insert(s: NewSession): Promise<SessionRecord> {
    const [row] = await this.db.insert(sessions).values(newRow(s)).returning()
    return toRecord(row!)
  }

  async get(id: string): Promise<SessionRecord | null> {
    const [row] = await this.db.select().from(sessions).where(eq(sessions.id, id))
    return row ? toRecord(row) : null
  }

  async status(id: string): Promise<SessionStatusRow | null> {
    const [row] = await this.db
      .select({ id: sessions.id, status: sessions.status, endReason: sessions.endReason })
      .from(sessions)
      .where(eq(sessions.id, id))
    return row ?? null
  }

  async list(opts: ListOptions): Promise<SessionPage> {
    const where: SQL[] = []
    if (opts.status) where.push(eq(sessions.status, opts.status))
    if (opts.pattern) where.push(eq(sessions.pattern, opts.pattern))
    if (opts.onlyId !== undefined) where.push(eq(sessions.id, opts.onlyId))
    if (opts.onlyIds !== undefined) where.push(inArray(sessions.id, [...opts.onlyIds]))
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor)
      // COLLATE "C": ids compare bytewise, as in SQLite, so a cursor continues where its page ended.
      where.push(sql`(${sessions.createdAt} < ${c.createdAt} or (${sessions.createdAt} = ${c.createdAt} and ${sessions.id} collate "C" < ${c.id}))`)
    }
    const rows = await this.db
      .select()
      .from(sessions)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(sessions.createdAt), sql`${sessions.id} collate "C" desc`)
      .limit(opts.limit + 1)
    return pageOf(rows, opts.limit)
  }

  async live(): Promise<SessionRecord[]> {
    const rows = await this.db.select().from(sessions).where(inArray(sessions.status, ['active', 'idle']))
    return rows.map(toRecord)
  }

  /** The row locked for the rest of `tx`, or null. */
  private async locked(tx: Tx, id: string): Promise<SessionRecord | null> {
    const [row] = await tx.select().from(sessions).where(eq(sessions.id, id)).for('update')
    return row ? toRecord(row) : null
  }

  private async write(tx: Tx | PostgresJsDatabase, id: string, set: ReturnType<typeof patchColumns>): Promise<SessionRecord | null> {
    if (!set) return null
    const [row] = await tx.update(sessions).set(set).where(eq(sessions.id, id)).returning()
    return row ? toRecord(row) : null
  }

  async update(id: string, patch: SessionPatch, now: number): Promise<SessionRecord | null> {
    if (!patchNeedsCurrent(patch)) return this.write(this.db, id, patchColumns(null, patch, now))
    return this.db.transaction(async (tx) => this.write(tx, id, patchColumns(await this.locked(tx, id), patch, now)))
  }

  async updateWith(id: string, decide: (current: SessionRecord) => SessionPatch, now: number): Promise<SessionRecord | null> {
    return this.db.transaction(async (tx) => {
      const current = await this.locked(tx, id)
      if (!current) return null
      return this.write(tx, id, patchColumns(current, decide(current), now))
    })
  }

  /** Exact values, as on SQLite; two overlapping writes may land in either order, and the monitor's next pass writes the fold again. */
  async updateUsage(id: string, usage: SessionUsage): Promise<void> {
    const key = this.usageWrites.due(id, usage)
    if (key === null) return
    const changed = await this.db
      .update(sessions)
      .set({
        tokensIn: usage.tokensIn,
        tokensOut: usage.tokensOut,
        costUsd: usage.costUsd,
        turns: usage.turns,
        lastActivityAt: usage.lastActivityAt,
      })
      .where(eq(sessions.id, id))
      .returning({ id: sessions.id })
    this.usageWrites.wrote(id, key, changed.length > 0)
  }

  async noteUsage(id: string, usage: SessionUsage): Promise<void> {
    if (this.usageWrites.noteDue(id, usage)) await this.updateUsage(id, usage)
  }

  async transition(id: string, from: readonly SessionStatus[], status: SessionStatus, now: number, endReason?: string): Promise<SessionRecord | null> {
    const [row] = await this.db
      .update(sessions)
      .set(transitionColumns(status, now, endReason))
      .where(and(eq(sessions.id, id), inArray(sessions.status, [...from])))
      .returning()
    return row ? toRecord(row) : null
  }

  async forksOf(id: string, limit = 100): Promise<string[]> {
    const rows = await this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(eq(sessions.forkedFromId, id))
      .orderBy(desc(sessions.createdAt))
      .limit(limit)
    return rows.map((r) => r.id)
  }

  async remove(id: string): Promise<boolean> {
    this.usageWrites.forget(id)
    const gone = await this.db.delete(sessions).where(eq(sessions.id, id)).returning({ id: sessions.id })
    return gone.length > 0
  }

  async endedEphemeralBefore(before: number): Promise<string[]> {
    const rows = await this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.pattern, 'ephemeral'), isNotNull(sessions.endedAt), lt(sessions.endedAt, before)))
    return rows.map((r) => r.id)
  }

  async stats(onlyId?: string): Promise<SessionStats> {
    // PostgreSQL sums bigints as numeric (a string on the wire) and counts as bigint: cast and map to numbers.
    const rows = await this.db
      .select({
        status: sessions.status,
        pattern: sessions.pattern,
        n: sql<number>`count(*)`.mapWith(Number),
        tokensIn: sql<number>`coalesce(sum(${sessions.tokensIn}), 0)::float8`.mapWith(Number),
        tokensOut: sql<number>`coalesce(sum(${sessions.tokensOut}), 0)::float8`.mapWith(Number),
        costUsd: sql<number>`coalesce(sum(${sessions.costUsd}), 0)::float8`.mapWith(Number),
        turns: sql<number>`coalesce(sum(${sessions.turns}), 0)::float8`.mapWith(Number),
      })
      .from(sessions)
      .where(onlyId !== undefined ? eq(sessions.id, onlyId) : undefined)
      .groupBy(sessions.status, sessions.pattern)
    return statsOf(rows)
  }
}
