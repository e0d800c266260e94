/**
 * The server's half of "turns you can see" (issue #10): every completed user message gets a turn
 * record `accepted` on the agent-state channel right after it, written by the server in the same
 * session-log step (so before any worker could answer, asleep or not started). The worker that
 * answers upserts the rest of the record (streaming, tool, done, …).
 *
 * Idempotent: the event id is `turn:<messageId>:accepted`, and only messages that were fresh in
 * this write (not duplicates) ask for one, so a retried message never makes a second record.
 */
import { addressees, DEFAULT_AGENT_ID, type Roster } from '../common/agent-roster'
import { turnIdOf } from './channel-schemas'
import type { SessionFold } from './fold'
import { buildSessionEvent, type SessionEvent } from './session-events'

export const acceptedEventId = (messageId: string, agentId?: string): string => `${turnIdOf(messageId, agentId)}:accepted`

/** The completed user messages among `events` (done user chunks), in order, with the done chunk's text. */
function completedUserMessages(events: readonly SessionEvent[]): Array<{ messageId: string; turn: number; text: string }> {
  const out: Array<{ messageId: string; turn: number; text: string }> = []
  for (const event of events) {
    if (event.type !== 'chunk' || !event.value) continue
    const { role, done, messageId, turn, delta } = event.value
    if (role === 'user' && done) out.push({ messageId, turn, text: delta })
  }
  return out
}

/** A session of the single agent `agent` keeps issue #10's records (no agentId); others name each addressee. */
const isSingleDefault = (roster: Roster | undefined): boolean =>
  !roster || (roster.agents.length === 1 && roster.agents[0]!.id === DEFAULT_AGENT_ID)

/**
 * `accepted` turn records for the completed user messages among `events`. Turn numbers come
 * from the fold (the k-th completed user message is turn k, as the worker counts); messages not
 * folded yet are numbered after the fold's last one.
 */
export function acceptedTurnEvents(events: readonly SessionEvent[], fold: SessionFold, now: number, roster?: Roster): SessionEvent[] {
  const out: SessionEvent[] = []
  let next = fold.userTurns
  for (const message of completedUserMessages(events)) {
    const turn = fold.turnOfMessage.get(message.messageId) ?? ++next
    const base = { kind: 'turn', messageId: message.messageId, turn, status: 'accepted', acceptedAt: now, updatedAt: now, timestamp: now }
    // Several agents (issue #15): one record per agent the message is addressed to, routed here
    // with the same pure rule the workers use (common/agent-roster.ts).
    const targets: Array<string | undefined> = isSingleDefault(roster) ? [undefined] : addressees(message.text, roster!)
    for (const agentId of targets) {
      const data = agentId === undefined ? base : { ...base, id: turnIdOf(message.messageId, agentId), agentId, depth: 0 }
      const built = buildSessionEvent({ channel: 'agent-state', id: acceptedEventId(message.messageId, agentId), data }, { now })
      if (!built.ok) throw new Error(`internal: accepted turn record invalid: ${built.field}: ${built.message}`)
      out.push(built.value)
    }
  }
  return out
}

export function hasCompletedUserMessage(events: readonly SessionEvent[]): boolean {
  return events.some((e) => e.type === 'chunk' && e.value?.role === 'user' && e.value.done)
}
