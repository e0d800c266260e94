/**
 * Folds a session's own stream into what the session layer needs to know about it: usage
 * (tokens, cost, turns), last activity, in-flight work, agent statuses and the event ids seen
 * (for idempotent writes) and who started each message (authorship). Pure: the same events always give the same fold, so after a restart
 * re-reading the stream gives back exactly the state before it.
 */
import type { SessionEvent } from './session-events'
import { EventIdIndex, MessageAuthors } from './event-ids'
import type { AgentStatus } from './session-types'

export interface AgentSummary {
  status: AgentStatus
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
}

/** Who is in the session (latest presence per user; a leave deletes it). */
export interface PresenceSummary {
  userId: string
  displayName: string
  color: string
  status: string
  lastSeen: number
}

export interface SessionFold {
  /** Offset after the last folded message. */
  offset: string
  closed: boolean
  /** Event ids in the stream: recent ones exactly, older ones approximately (see event-ids.ts). */
  eventIds: EventIdIndex
  /** messageId → the author of its first chunk (see claimMessages). */
  authors: MessageAuthors
  agents: Map<string, AgentSummary>
  presence: Map<string, PresenceSummary>
  /** Tool calls currently pending or running. */
  openToolCalls: Set<string>
  /** Epoch ms of the last chunk / tool-call / terminal / control event (not presence or heartbeats); null if none. */
  lastActivityAt: number | null
  /** Number of events folded. */
  events: number
  /** Completed user messages (each one asks for a turn; the worker numbers turns the same way, from 1). */
  userTurns: number
  /** messageId → turn number of the newest RECENT_USER_TURNS completed user messages. */
  turnOfMessage: Map<string, number>
}

/** Enough to number a retried or re-read recent message; older ones are never asked about. */
const RECENT_USER_TURNS = 1_000

export interface SessionUsage {
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
  lastActivityAt: number | null
}

export function emptyFold(exactEventIds?: number, exactMessageAuthors?: number): SessionFold {
  return {
    offset: '-1',
    closed: false,
    eventIds: new EventIdIndex(exactEventIds),
    authors: new MessageAuthors(exactMessageAuthors),
    agents: new Map(),
    presence: new Map(),
    openToolCalls: new Set(),
    lastActivityAt: null,
    events: 0,
    userTurns: 0,
    turnOfMessage: new Map(),
  }
}

const ACTIVITY_CHANNELS = new Set(['chunk', 'tool-call', 'terminal'])
const BUSY_AGENT = new Set<AgentStatus>(['starting', 'thinking', 'running-tool'])

function record(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0
}

/**
 * Applies messages read from the stream. `observedAt` (server clock at read time) caps event
 * timestamps so a writer's clock running ahead cannot keep a session "active" forever.
 */
export function foldMessages(fold: SessionFold, messages: unknown[], observedAt: number): SessionFold {
  for (const message of messages) {
    const event = record(message)
    const headers = record(event?.headers)
    if (!event || !headers || typeof event.type !== 'string' || typeof event.key !== 'string') continue
    fold.events += 1
    if (typeof headers.eventId === 'string') fold.eventIds.add(headers.eventId)
    const value = record(event.value)
    const ts = typeof headers.timestamp === 'string' ? Date.parse(headers.timestamp) : Number.NaN
    const at = Number.isFinite(ts) ? Math.min(ts, observedAt) : observedAt
    const isControl = event.type === 'agent-state' && value?.kind === 'control'
    if (ACTIVITY_CHANNELS.has(event.type) || isControl) {
      fold.lastActivityAt = Math.max(fold.lastActivityAt ?? 0, at)
    }
    if (event.type === 'chunk' && value && typeof value.messageId === 'string' && typeof value.author === 'string') {
      // First chunk wins: a later chunk by someone else (written before this rule) changes nothing.
      fold.authors.claim(value.messageId, value.author)
      // Re-reading our own appends folds them again: a known message is not a new turn.
      if (value.role === 'user' && value.done === true && !fold.turnOfMessage.has(value.messageId)) {
        fold.userTurns += 1
        fold.turnOfMessage.set(value.messageId, fold.userTurns)
        if (fold.turnOfMessage.size > RECENT_USER_TURNS) fold.turnOfMessage.delete(fold.turnOfMessage.keys().next().value as string)
      }
    }
    if (event.type === 'tool-call' && value) {
      if (value.status === 'pending' || value.status === 'running') fold.openToolCalls.add(event.key)
      else fold.openToolCalls.delete(event.key)
    }
    if (event.type === 'presence') {
      if (headers.operation === 'delete') fold.presence.delete(event.key)
      else if (value) {
        // Updates may be partial: merge over what we had.
        const had = fold.presence.get(event.key)
        fold.presence.set(event.key, {
          userId: event.key,
          displayName: typeof value.displayName === 'string' ? value.displayName : (had?.displayName ?? event.key),
          color: typeof value.color === 'string' ? value.color : (had?.color ?? '#888888'),
          status: typeof value.status === 'string' ? value.status : (had?.status ?? 'active'),
          lastSeen: typeof value.lastSeen === 'number' ? value.lastSeen : (had?.lastSeen ?? at),
        })
      }
    }
    // Only `kind: 'state'` entries describe an agent (control and turn records carry other fields).
    if (event.type === 'agent-state' && value && value.kind !== 'control' && value.kind !== 'turn' && typeof value.agentId === 'string') {
      fold.agents.set(value.agentId, {
        status: value.status as AgentStatus,
        tokensIn: num(value.tokensIn),
        tokensOut: num(value.tokensOut),
        costUsd: num(value.costUsd),
        turns: num(value.turns),
      })
    }
  }
  return fold
}

export function usageOf(fold: SessionFold): SessionUsage {
  let tokensIn = 0
  let tokensOut = 0
  let costUsd = 0
  let turns = 0
  for (const a of fold.agents.values()) {
    tokensIn += a.tokensIn
    tokensOut += a.tokensOut
    costUsd += a.costUsd
    turns += a.turns
  }
  // Round away float noise from summing many small costs.
  return { tokensIn, tokensOut, costUsd: Math.round(costUsd * 1e9) / 1e9, turns, lastActivityAt: fold.lastActivityAt }
}

/** True while an agent is working or a tool call is open: such a session is not idle. */
export function isBusy(fold: SessionFold): boolean {
  if (fold.openToolCalls.size > 0) return true
  for (const a of fold.agents.values()) if (BUSY_AGENT.has(a.status)) return true
  return false
}

/** For ephemeral sessions: every agent that ever reported has stopped or failed. */
export function agentsFinished(fold: SessionFold): 'completed' | 'failed' | null {
  if (fold.agents.size === 0) return null
  let failed = false
  for (const a of fold.agents.values()) {
    if (a.status === 'failed') failed = true
    else if (a.status !== 'stopped') return null
  }
  return failed ? 'failed' : 'completed'
}

export interface AuthorshipConflict {
  /** Index of the offending event in the batch. */
  index: number
  messageId: string
  /** Who wrote the chunk, and who started the message. */
  author: string
}

/**
 * A person appends only to messages they started: every chunk must continue a message its author
 * started, or start a new one. Checks the whole batch first (a refused batch claims nothing), then
 * claims the new messages for their authors. Synchronous, so check-and-claim cannot interleave
 * with another request in this process (the raw gate and the writer share one map per session).
 */
export function claimMessages(authors: MessageAuthors, events: readonly SessionEvent[]): AuthorshipConflict | null {
  let batch: Map<string, string> | undefined
  for (const [index, event] of events.entries()) {
    if (event.type !== 'chunk' || !event.value) continue
    const { messageId, author } = event.value
    const inBatch = batch?.get(messageId)
    const verdict = inBatch !== undefined ? (inBatch === author ? 'mine' : 'other') : authors.check(messageId, author)
    if (verdict === 'other') return { index, messageId, author }
    if (verdict === 'new') (batch ??= new Map()).set(messageId, author)
  }
  if (batch) for (const [messageId, author] of batch) authors.claim(messageId, author)
  return null
}
