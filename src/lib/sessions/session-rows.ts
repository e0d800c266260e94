/**
 * What both session stores share (session-store.ts on SQLite, session-store-pg.ts on PostgreSQL):
 * the `SessionStore` interface, the row <-> record mapping, list cursors, the columns a patch
 * writes, the stats sum and the per-process usage dedupe. Each store only runs its own SQL, so the
 * two cannot drift on what a record or a cursor means.
 */
import type { MaybePromise } from '../streams/engine'
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import type { SessionUsage } from './fold'
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
import type { SessionRow } from '../db/schema/sessions'

export type { MaybePromise }

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

export interface SessionPage {
  sessions: SessionRecord[]
  nextCursor: string | null
}

export interface SessionPatch {
  title?: string
  agent?: AgentConfig
  agents?: readonly SessionAgentInput[]
  routing?: AgentRoutingInput
  limits?: Partial<SessionLimits>
  metadata?: Record<string, string>
}

export type SessionStatusRow = { id: string; status: SessionStatus; endReason: string | null }

/**
 * Session records. SQLite answers synchronously (values), PostgreSQL with promises: callers
 * await every answer. A decision that reads the row and writes it back (updateWith, transition)
 * is one atomic step in the store, never a read and a later write in the caller.
 */
export interface SessionStore {
  insert(s: NewSession): MaybePromise<SessionRecord>
  get(id: string): MaybePromise<SessionRecord | null>
  /** Just the status of a session (the per-write check), or null if unknown. */
  status(id: string): MaybePromise<SessionStatusRow | null>
  /** Newest first; `nextCursor` continues after the page's last row. Throws CursorError for a bad cursor. */
  list(opts: ListOptions): MaybePromise<SessionPage>
  /** Active and idle sessions. */
  live(): MaybePromise<SessionRecord[]>
  update(id: string, patch: SessionPatch, now: number): MaybePromise<SessionRecord | null>
  /**
   * `decide` sees the current record and answers the patch, in one atomic step with the write (so
   * two agent changes never both add to the same list). It may throw; nothing is written then.
   */
  updateWith(id: string, decide: (current: SessionRecord) => SessionPatch, now: number): MaybePromise<SessionRecord | null>
  updateUsage(id: string, usage: SessionUsage): MaybePromise<void>
  /** updateUsage for the write path: a move of only the activity time under ACTIVITY_RESOLUTION_MS is not written. */
  noteUsage(id: string, usage: SessionUsage): MaybePromise<void>
  /** Moves a session whose status is in `from` to `status`; null if it was not (someone else ended it first). */
  transition(id: string, from: readonly SessionStatus[], status: SessionStatus, now: number, endReason?: string): MaybePromise<SessionRecord | null>
  /** Ids of the sessions forked from `id` (newest first, at most `limit`). */
  forksOf(id: string, limit?: number): MaybePromise<string[]>
  remove(id: string): MaybePromise<boolean>
  /** Ephemeral sessions that ended before `before` (due for removal). */
  endedEphemeralBefore(before: number): MaybePromise<string[]>
  stats(onlyId?: string): MaybePromise<SessionStats>
}

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T
  } catch {
    return fallback
  }
}

/** SQLite's row; PostgreSQL's (schema-pg) has the same fields and value types. */
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

/** The row of a new session. */
export function newRow(s: NewSession): SessionRow {
  return {
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
    tokensIn: 0,
    tokensOut: 0,
    costUsd: 0,
    turns: 0,
    lastActivityAt: null,
    createdBy: s.createdBy,
    createdAt: s.now,
    updatedAt: s.now,
    endedAt: null,
    endReason: null,
    forkedFromId: s.forkedFrom?.sessionId ?? null,
    forkedFromTurn: s.forkedFrom?.turn ?? null,
    forkedFromOffset: s.forkedFrom?.offset ?? null,
  }
}

/** Whether writing `patch` needs the current record (its agent list or routing). */
export function patchNeedsCurrent(patch: SessionPatch): boolean {
  return patch.agent !== undefined || patch.agents !== undefined || patch.routing !== undefined
}

/** The columns `patch` sets; null when it needs the current record and there is none. */
export function patchColumns(current: SessionRecord | null, patch: SessionPatch, now: number): Partial<SessionRow> | null {
  const set: Partial<SessionRow> = { updatedAt: now }
  if (patch.title !== undefined) set.title = patch.title
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
  return set
}

/** The columns a transition sets. */
export function transitionColumns(status: SessionStatus, now: number, endReason: string | undefined): Partial<SessionRow> {
  const ended = status === 'completed' || status === 'failed' || status === 'terminated'
  return { status, updatedAt: now, ...(ended ? { endedAt: now, endReason: endReason ?? status } : {}) }
}

export class CursorError extends Error {}

export function encodeCursor(row: { createdAt: number; id: string }): string {
  return Buffer.from(JSON.stringify([row.createdAt, row.id])).toString('base64url')
}

export function decodeCursor(cursor: string): { createdAt: number; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[]
    if (typeof createdAt === 'number' && typeof id === 'string') return { createdAt, id }
  } catch {
    // fall through
  }
  throw new CursorError('cursor is not one this server handed out')
}

/** A page from `limit + 1` rows, newest first. */
export function pageOf(rows: SessionRow[], limit: number): SessionPage {
  const page = rows.slice(0, limit)
  return { sessions: page.map(toRecord), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!) : null }
}

export interface StatsGroup {
  status: SessionStatus
  pattern: SessionPattern
  n: number
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
}

/** The stats answer from rows grouped by status and pattern. */
export function statsOf(rows: readonly StatsGroup[]): SessionStats {
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

/** How stale the stored activity time may get on the write path (noteUsage). */
export const ACTIVITY_RESOLUTION_MS = 1_000

/**
 * Which usage writes to skip, per process: an unchanged usage is not written again, and on the
 * write path (noteUsage, after every append) a change of only lastActivityAt by less than
 * ACTIVITY_RESOLUTION_MS is not written. Every chunk moves the activity time, and writing it made
 * each append two commits. The monitor and refresh() still write exact values.
 */
export class UsageWrites {
  /** Usage last written per session. */
  private readonly written = new Map<string, string>()
  /** What noteUsage last passed on per session: its counters and activity time. */
  private readonly noted = new Map<string, { counters: string; lastActivityAt: number | null }>()

  /** The key to write `usage` under, or null when that exact usage was written last. */
  due(id: string, usage: SessionUsage): string | null {
    const key = `${usage.tokensIn}|${usage.tokensOut}|${usage.costUsd}|${usage.turns}|${usage.lastActivityAt}`
    return this.written.get(id) === key ? null : key
  }

  /** After the write: `changed` false (no such row) forgets the session. */
  wrote(id: string, key: string, changed: boolean): void {
    if (changed) this.written.set(id, key)
    else this.written.delete(id)
  }

  /** Whether noteUsage should pass `usage` on (and remembers it if so). */
  noteDue(id: string, usage: SessionUsage): boolean {
    const counters = `${usage.tokensIn}|${usage.tokensOut}|${usage.costUsd}|${usage.turns}`
    const noted = this.noted.get(id)
    if (
      noted &&
      noted.counters === counters &&
      noted.lastActivityAt !== null &&
      usage.lastActivityAt !== null &&
      usage.lastActivityAt - noted.lastActivityAt < ACTIVITY_RESOLUTION_MS
    ) {
      return false
    }
    this.noted.set(id, { counters, lastActivityAt: usage.lastActivityAt })
    return true
  }

  forget(id: string): void {
    this.written.delete(id)
    this.noted.delete(id)
  }
}
