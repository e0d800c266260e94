/**
 * "User message → first agent token" spans (issue #12): `turn.first_token` starts when the server
 * builds a turn's `accepted` record (src/lib/sessions/turn-accept.ts; inside the request that
 * posted the message, so it is that request's child) and ends when the first assistant chunk of
 * that turn reaches the gate (a worker's raw append). Also the log line that links a request to
 * the turn it started: the worker sends the turn id as its x-request-id (specs/operations.md).
 */
import type { Logger } from '../common/logger'
import type { SessionEvent } from '../sessions/session-events'
import { startSpan, tracingOn } from './tracing'

type OpenSpan = NonNullable<ReturnType<typeof startSpan>>

/** Turns never answered (no worker, crash before the first token) end here, marked unanswered. */
const MAX_OPEN = 10_000
const open = new Map<string, { span: OpenSpan; startedAt: number }>()
const UNANSWERED_AFTER_MS = 10 * 60_000

const keyOf = (sessionId: string, turn: number) => `${sessionId}\u0000${turn}`

/**
 * Called with the records about to be written; returns them unchanged. Logs `turn accepted`
 * (carrying the request id through the logger's mixin) and, with traces on, opens the span.
 */
export function turnsAccepted<T extends SessionEvent>(sessionId: string, records: T[], logger?: Logger): T[] {
  for (const record of records) {
    const value = record.value as { kind?: unknown; turn?: unknown; messageId?: unknown } | undefined
    if (record.type !== 'agent-state' || value?.kind !== 'turn' || typeof value.turn !== 'number') continue
    logger?.info({ sessionId, turn: value.turn, turnId: record.key }, 'turn accepted')
    if (!tracingOn()) continue
    const key = keyOf(sessionId, value.turn)
    if (open.has(key)) continue
    sweep()
    const span = startSpan('turn.first_token', { 'tether.session_id': sessionId, 'tether.turn': value.turn, 'tether.turn_id': record.key })
    if (span) open.set(key, { span, startedAt: Date.now() })
  }
  return records
}

/** Ends the span of every turn whose first assistant chunk is among `events`. */
export function turnEventsAppended(sessionId: string, events: readonly SessionEvent[]): void {
  if (open.size === 0) return
  for (const event of events) {
    if (event.type !== 'chunk' || event.value?.role !== 'assistant') continue
    const key = keyOf(sessionId, event.value.turn)
    const entry = open.get(key)
    if (!entry) continue
    open.delete(key)
    entry.span.setAttribute('tether.agent', event.value.author)
    entry.span.end()
  }
}

function sweep(): void {
  const cutoff = Date.now() - UNANSWERED_AFTER_MS
  for (const [key, entry] of open) {
    if (entry.startedAt > cutoff && open.size < MAX_OPEN) break
    open.delete(key)
    entry.span.setAttribute('tether.unanswered', true)
    entry.span.end()
  }
}

/** Open spans (tests). */
export function openTurnSpans(): number {
  return open.size
}
