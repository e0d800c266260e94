/**
 * Session records in SQLite (drizzle). Synchronous, like better-sqlite3 itself: every method
 * answers a value, so `npm start` pays no promise per write. The PostgreSQL twin is
 * session-store-pg.ts; what both share (interface, mapping, cursors) is session-rows.ts.
 */
import { and, desc, eq, inArray, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { sessions } from '../db/schema/sessions'
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

export {
  ACTIVITY_RESOLUTION_MS,
  CursorError,
  toRecord,
  type ListOptions,
  type NewSession,
  type SessionPage,
  type SessionPatch,
  type SessionStore,
} from './session-rows'

/** Status rows kept in memory (see SqliteSessionStore.statuses); the map is dropped whole when full. */
const STATUS_CACHE_ENTRIES = 4096

export class SqliteSessionStore implements SessionStore {
  // Prepared once: building a drizzle query costs more than running it, and these run per write.
  private readonly getById
  private readonly getStatus
  private readonly setUsage
  private readonly usageWrites = new UsageWrites()
  /**
   * The per-write status check (`status`, every writer request) without its SELECT: measured
   * 17 µs median inside the app (a point read on the connection that has just committed the
   * previous append), ~6 % of a write. Only this store writes the sessions table, and only this
   * process writes the file (the streams engine already relies on that: it caches stream
   * metadata), so an entry stays right until one of the methods below changes the row: each of
   * them drops it first. Not done on PostgreSQL, where other nodes change rows.
   */
  private readonly statuses = new Map<string, SessionStatusRow>()

  constructor(private readonly db: BetterSQLite3Database) {
    this.getById = db
      .select()
      .from(sessions)
      .where(eq(sessions.id, sql.placeholder('id')))
      .prepare()
    this.getStatus = db
      .select({ id: sessions.id, status: sessions.status, endReason: sessions.endReason })
      .from(sessions)
      .where(eq(sessions.id, sql.placeholder('id')))
      .prepare()
    this.setUsage = db
      .update(sessions)
      .set({
        tokensIn: sql`${sql.placeholder('tokensIn')}`,
        tokensOut: sql`${sql.placeholder('tokensOut')}`,
        costUsd: sql`${sql.placeholder('costUsd')}`,
        turns: sql`${sql.placeholder('turns')}`,
        lastActivityAt: sql`${sql.placeholder('lastActivityAt')}`,
      })
      .where(eq(sessions.id, sql.placeholder('id')))
      .prepare()
  }

  /** Whether the connection is inside a transaction (unknown counts as yes: nothing is cached then). */
  private inTransaction(): boolean {
    // Why the cast: drizzle() puts the better-sqlite3 handle on `$client` at run time, but the
    // BetterSQLite3Database type our callers hand us does not declare it.
    return (this.db as { $client?: { inTransaction: boolean } }).$client?.inTransaction ?? true
  }

  insert(s: NewSession): SessionRecord {
    this.statuses.delete(s.id)
    return toRecord(this.db.insert(sessions).values(newRow(s)).returning().get())
  }

  get(id: string): SessionRecord | null {
    const row = this.getById.get({ id })
    return row ? toRecord(row) : null
  }

  status(id: string): SessionStatusRow | null {
    const known = this.statuses.get(id)
    if (known !== undefined) return known
    const row = this.getStatus.get({ id })
    // Unknown ids are not kept (a flood of made-up ids would only churn the map), nor a row read
    // inside a transaction, which may still roll back.
    if (!row || this.inTransaction()) return row ?? null
    if (this.statuses.size >= STATUS_CACHE_ENTRIES) this.statuses.clear()
    const frozen = Object.freeze({ id: row.id, status: row.status, endReason: row.endReason })
    this.statuses.set(id, frozen)
    return frozen
  }

  list(opts: ListOptions): SessionPage {
    const where: SQL[] = []
    if (opts.status) where.push(eq(sessions.status, opts.status))
    if (opts.pattern) where.push(eq(sessions.pattern, opts.pattern))
    if (opts.onlyId !== undefined) where.push(eq(sessions.id, opts.onlyId))
    if (opts.onlyIds !== undefined) where.push(inArray(sessions.id, [...opts.onlyIds]))
    if (opts.cursor) {
      const c = decodeCursor(opts.cursor)
      where.push(or(lt(sessions.createdAt, c.createdAt), and(eq(sessions.createdAt, c.createdAt), lt(sessions.id, c.id))) as SQL)
    }
    const rows = this.db
      .select()
      .from(sessions)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(sessions.createdAt), desc(sessions.id))
      .limit(opts.limit + 1)
      .all()
    return pageOf(rows, opts.limit)
  }

  live(): SessionRecord[] {
    return this.db
      .select()
      .from(sessions)
      .where(inArray(sessions.status, ['active', 'idle']))
      .all()
      .map(toRecord)
  }

  update(id: string, patch: SessionPatch, now: number): SessionRecord | null {
    this.statuses.delete(id)
    // Read and write run in one synchronous step: nothing else runs on this connection between them.
    const set = patchColumns(patchNeedsCurrent(patch) ? this.get(id) : null, patch, now)
    if (!set) return null
    const row = this.db.update(sessions).set(set).where(eq(sessions.id, id)).returning().get()
    return row ? toRecord(row) : null
  }

  updateWith(id: string, decide: (current: SessionRecord) => SessionPatch, now: number): SessionRecord | null {
    this.statuses.delete(id)
    const current = this.get(id)
    if (!current) return null
    const set = patchColumns(current, decide(current), now)
    if (!set) return null
    const row = this.db.update(sessions).set(set).where(eq(sessions.id, id)).returning().get()
    return row ? toRecord(row) : null
  }

  updateUsage(id: string, usage: SessionUsage): void {
    const key = this.usageWrites.due(id, usage)
    if (key === null) return
    this.usageWrites.wrote(id, key, this.setUsage.run({ id, ...usage }).changes > 0)
  }

  noteUsage(id: string, usage: SessionUsage): void {
    if (this.usageWrites.noteDue(id, usage)) this.updateUsage(id, usage)
  }

  transition(id: string, from: readonly SessionStatus[], status: SessionStatus, now: number, endReason?: string): SessionRecord | null {
    this.statuses.delete(id)
    const row = this.db
      .update(sessions)
      .set(transitionColumns(status, now, endReason))
      .where(and(eq(sessions.id, id), inArray(sessions.status, [...from])))
      .returning()
      .get()
    return row ? toRecord(row) : null
  }

  forksOf(id: string, limit = 100): string[] {
    return this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(eq(sessions.forkedFromId, id))
      .orderBy(desc(sessions.createdAt))
      .limit(limit)
      .all()
      .map((r) => r.id)
  }

  remove(id: string): boolean {
    this.statuses.delete(id)
    this.usageWrites.forget(id)
    return this.db.delete(sessions).where(eq(sessions.id, id)).run().changes > 0
  }

  endedEphemeralBefore(before: number): string[] {
    return this.db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.pattern, 'ephemeral'), isNotNull(sessions.endedAt), lt(sessions.endedAt, before)))
      .all()
      .map((r) => r.id)
  }

  stats(onlyId?: string): SessionStats {
    const rows = this.db
      .select({
        status: sessions.status,
        pattern: sessions.pattern,
        n: sql<number>`count(*)`,
        tokensIn: sql<number>`coalesce(sum(${sessions.tokensIn}), 0)`,
        tokensOut: sql<number>`coalesce(sum(${sessions.tokensOut}), 0)`,
        costUsd: sql<number>`coalesce(sum(${sessions.costUsd}), 0)`,
        turns: sql<number>`coalesce(sum(${sessions.turns}), 0)`,
      })
      .from(sessions)
      .where(onlyId !== undefined ? eq(sessions.id, onlyId) : undefined)
      .groupBy(sessions.status, sessions.pattern)
      .all()
    return statsOf(rows)
  }
}
