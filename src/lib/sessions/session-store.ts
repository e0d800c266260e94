/**
 * Session records in SQLite (drizzle). Synchronous, like better-sqlite3 itself.
 */
import { and, desc, eq, inArray, isNotNull, lt, or, sql, type SQL } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { sessions, type SessionRow } from '../db/schema/sessions'
import type { SessionUsage } from './fold'
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import { agentsFromStored, agentsToStored } from './session-agents'
import {
  SESSION_PATTERNS,
  SESSION_STATUSES,
  sessionStreamPath,
  type AgentConfig,
  type AgentRoutingInput,
  type ForkLineage,
  type SessionAgent,
  type SessionAgentInput,
  type SessionLimits,
  type SessionPattern,
  type SessionRecord,
  type SessionStats,
  type SessionStatus,
} from './session-types'

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

export function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    pattern: row.pattern,
    status: row.status,
    title: row.title,
    ...agentsFromStored(
      parseJson<AgentConfig>(row.agentConfig, {}),
      parseJson<SessionAgent[]>(row.agents, []),
      parseJson<AgentRoutingInput>(row.agentRouting, {}),
    ),
    limits: {
      maxIdleTimeMs: row.maxIdleTimeMs,
      maxLifetimeMs: row.maxLifetimeMs,
      maxBudgetUsd: row.maxBudgetUsd,
      maxTurns: row.maxTurns,
    },
    usage: { tokensIn: row.tokensIn, tokensOut: row.tokensOut, costUsd: row.costUsd, turns: row.turns, lastActivityAt: row.lastActivityAt },
    metadata: parseJson<Record<string, string>>(row.metadata, {}),
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    endedAt: row.endedAt,
    endReason: row.endReason,
    streamPath: sessionStreamPath(row.id),
    forkedFrom:
      row.forkedFromId !== null && row.forkedFromTurn !== null && row.forkedFromOffset !== null
        ? { sessionId: row.forkedFromId, turn: row.forkedFromTurn, offset: row.forkedFromOffset }
        : null,
  }
}

/** The three agent columns for a single `agent` config (no list) or an agent list. */
function storedColumns(
  agent: AgentConfig,
  agents: readonly SessionAgentInput[] | undefined,
  routing: AgentRoutingInput | undefined,
): Pick<SessionRow, 'agentConfig' | 'agents' | 'agentRouting'> {
  if (!agents || agents.length === 0) return { agentConfig: JSON.stringify(agent), agents: '[]', agentRouting: '{}' }
  const stored = agentsToStored(agents, routing)
  return {
    agentConfig: JSON.stringify(stored.agentConfig),
    agents: JSON.stringify(stored.agents),
    agentRouting: JSON.stringify(stored.routing),
  }
}

export interface NewSession {
  id: string
  pattern: SessionPattern
  title: string | null
  agent: AgentConfig
  /** Several agents (issue #15): stored as given; `agent` is then the default one's config. */
  agents?: readonly SessionAgentInput[]
  routing?: AgentRoutingInput
  limits: SessionLimits
  metadata: Record<string, string>
  createdBy: string | null
  now: number
  forkedFrom?: ForkLineage | null
}

export interface ListOptions {
  status?: SessionStatus
  pattern?: SessionPattern
  limit: number
  cursor?: string
  /** Restrict to one session (tokens scoped to a session). */
  onlyId?: string
  /** Restrict to these sessions (a signed-in person's own and invited ones: src/lib/accounts). */
  onlyIds?: readonly string[]
}

export class CursorError extends Error {}

function encodeCursor(row: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.id])).toString('base64url')
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof createdAt === 'number' && typeof id === 'string') return { createdAt, id }
  } catch {
    // fall through
  }
  throw new CursorError('cursor is not one this server handed out')
}

/** How stale the stored activity time may get on the write path (noteUsage). */
export const ACTIVITY_RESOLUTION_MS = 1_000

export class SessionStore {
  // Prepared once: building a drizzle query costs more than running it, and these run per write.
  private readonly getById
  private readonly getStatus
  private readonly setUsage
  /** Usage last written per session: an unchanged usage is not written again. */
  private readonly writtenUsage = new Map<string, string>()
  /** What noteUsage last passed on per session: its counters and activity time. */
  private readonly notedUsage = new Map<string, { counters: string; lastActivityAt: number | null }>()

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

  insert(s: NewSession): SessionRecord {
    const row = this.db
      .insert(sessions)
      .values({
        id: s.id,
        pattern: s.pattern,
        status: 'active',
        title: s.title,
        ...storedColumns(s.agent, s.agents, s.routing),
        metadata: JSON.stringify(s.metadata),
        maxIdleTimeMs: s.limits.maxIdleTimeMs,
        maxLifetimeMs: s.limits.maxLifetimeMs,
        maxBudgetUsd: s.limits.maxBudgetUsd,
        maxTurns: s.limits.maxTurns,
        createdBy: s.createdBy,
        createdAt: s.now,
        updatedAt: s.now,
        lastActivityAt: null,
        forkedFromId: s.forkedFrom?.sessionId ?? null,
        forkedFromTurn: s.forkedFrom?.turn ?? null,
        forkedFromOffset: s.forkedFrom?.offset ?? null,
      })
      .returning()
      .get()
    return toRecord(row)
  }

  get(id: string): SessionRecord | null {
    const row = this.getById.get({ id })
    return row ? toRecord(row) : null
  }

  /** Just the status of a session (the per-write check), or null if unknown. */
  status(id: string): { id: string; status: SessionStatus; endReason: string | null } | null {
    return this.getStatus.get({ id }) ?? null
  }

  list(opts: ListOptions): { sessions: SessionRecord[]; nextCursor: string | null } {
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
    const page = rows.slice(0, opts.limit)
    return { sessions: page.map(toRecord), nextCursor: rows.length > opts.limit ? encodeCursor(page[page.length - 1]) : null }
  }

  live(): SessionRecord[] {
    return this.db
      .select()
      .from(sessions)
      .where(inArray(sessions.status, ['active', 'idle']))
      .all()
      .map(toRecord)
  }

  update(
    id: string,
    patch: {
      title?: string
      agent?: AgentConfig
      agents?: readonly SessionAgentInput[]
      routing?: AgentRoutingInput
      limits?: Partial<SessionLimits>
      metadata?: Record<string, string>
    },
    now: number,
  ): SessionRecord | null {
    const set: Partial<SessionRow> = { updatedAt: now }
    if (patch.title !== undefined) set.title = patch.title
    const current = patch.agent !== undefined || patch.agents !== undefined || patch.routing !== undefined ? this.get(id) : null
    const listed =
      current !== null && current.agents.length > 0 && (current.agents.length > 1 || current.agents[0]!.id !== DEFAULT_AGENT_ID)
    if (patch.agents !== undefined || patch.routing !== undefined || (patch.agent !== undefined && listed)) {
      if (!current) return null
      // `agent` on a session with an agent list: the default agent's config.
      const withAgent = (list: readonly SessionAgentInput[]) =>
        patch.agent === undefined ? list : list.map((a) => (a.id === current.routing.defaultAgent ? { ...a, ...patch.agent } : a))
      const agents = patch.agents ?? withAgent(current.agents)
      Object.assign(set, storedColumns(current.agent, agents, { ...current.routing, ...patch.routing }))
    } else if (patch.agent !== undefined) {
      Object.assign(set, storedColumns(patch.agent, undefined, undefined))
    }
    if (patch.metadata !== undefined) set.metadata = JSON.stringify(patch.metadata)
    if (patch.limits) {
      const l = patch.limits
      if (l.maxIdleTimeMs !== undefined) set.maxIdleTimeMs = l.maxIdleTimeMs
      if (l.maxLifetimeMs !== undefined) set.maxLifetimeMs = l.maxLifetimeMs
      if (l.maxBudgetUsd !== undefined) set.maxBudgetUsd = l.maxBudgetUsd
      if (l.maxTurns !== undefined) set.maxTurns = l.maxTurns
    }
    const row = this.db.update(sessions).set(set).where(eq(sessions.id, id)).returning().get()
    return row ? toRecord(row) : null
  }

  updateUsage(id: string, usage: SessionUsage): void {
    const key = `${usage.tokensIn}|${usage.tokensOut}|${usage.costUsd}|${usage.turns}|${usage.lastActivityAt}`
    if (this.writtenUsage.get(id) === key) return
    const changes = this.setUsage.run({ id, ...usage }).changes
    if (changes > 0) this.writtenUsage.set(id, key)
    else this.writtenUsage.delete(id)
  }

  /**
   * updateUsage for the write path, which calls it after every append: a change of only
   * lastActivityAt by less than ACTIVITY_RESOLUTION_MS is not written. Every chunk moves the
   * activity time, and writing it made each append two commits (the append's, then this row's).
   * The monitor and refresh() still write exact values; idle limits are minutes, not a second.
   */
  noteUsage(id: string, usage: SessionUsage): void {
    const counters = `${usage.tokensIn}|${usage.tokensOut}|${usage.costUsd}|${usage.turns}`
    const noted = this.notedUsage.get(id)
    if (
      noted &&
      noted.counters === counters &&
      noted.lastActivityAt !== null &&
      usage.lastActivityAt !== null &&
      usage.lastActivityAt - noted.lastActivityAt < ACTIVITY_RESOLUTION_MS
    ) {
      return
    }
    this.notedUsage.set(id, { counters, lastActivityAt: usage.lastActivityAt })
    this.updateUsage(id, usage)
  }

  /** Moves a live session to `status`; false if it was not live (someone else ended it first). */
  transition(id: string, from: readonly SessionStatus[], status: SessionStatus, now: number, endReason?: string): SessionRecord | null {
    const ended = status === 'completed' || status === 'failed' || status === 'terminated'
    const row = this.db
      .update(sessions)
      .set({ status, updatedAt: now, ...(ended ? { endedAt: now, endReason: endReason ?? status } : {}) })
      .where(and(eq(sessions.id, id), inArray(sessions.status, [...from])))
      .returning()
      .get()
    return row ? toRecord(row) : null
  }

  /** Ids of the sessions forked from `id` (newest first, at most `limit`). */
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
    this.writtenUsage.delete(id)
    this.notedUsage.delete(id)
    return this.db.delete(sessions).where(eq(sessions.id, id)).run().changes > 0
  }

  /** Ephemeral sessions that ended before `before` (due for removal). */
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
    const byStatus = Object.fromEntries(SESSION_STATUSES.map((s) => [s, 0])) as Record<SessionStatus, number>
    const byPattern = Object.fromEntries(SESSION_PATTERNS.map((p) => [p, 0])) as Record<SessionPattern, number>
    const usage = { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 }
    let total = 0
    for (const r of rows) {
      total += r.n
      byStatus[r.status] += r.n
      byPattern[r.pattern] += r.n
      usage.tokensIn += r.tokensIn
      usage.tokensOut += r.tokensOut
      usage.costUsd += r.costUsd
      usage.turns += r.turns
    }
    usage.costUsd = Math.round(usage.costUsd * 1e9) / 1e9
    return { total, byStatus, byPattern, usage }
  }
}
