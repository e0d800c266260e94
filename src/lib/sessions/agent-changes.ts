/**
 * Changing a live session's agents (issue #15): add, remove, replace the list or its routing.
 * Each change updates the record, then logs the new roster in the stream (with a `stop` control
 * for a removed agent, in the same append, so its loop ends wherever it runs), then tells the
 * supervisor (`onSessionAgentsChanged`: per-agent workers start and stop; a single-container
 * worker follows the roster itself).
 */
import { MAX_AGENTS_PER_SESSION } from '../common/agent-roster'
import { buildSessionEvent, type SessionEvent } from './session-events'
import { AgentListConflictError, SessionNotFoundError, UnknownAgentError } from './session-errors'
import { rosterEntry } from './session-agents'
import type { SessionLogs } from './session-log'
import type { SessionPatch, SessionStore } from './session-store'
import type { SessionAgentInput, SessionRecord } from './session-types'

export type RosterChange = 'created' | 'added' | 'removed' | 'updated'

export interface AgentChangesDeps {
  store: SessionStore
  logs: SessionLogs
  now: () => number
  /** The session must be live (throws the manager's domain errors otherwise). */
  requireLive(id: string): Promise<unknown>
  agentsChanged(session: SessionRecord): Promise<void>
}

function event(channel: 'agent-state', data: Record<string, unknown>, now: number): SessionEvent {
  const built = buildSessionEvent({ channel, data }, { now })
  if (!built.ok) throw new Error(`internal: ${channel} event invalid: ${built.field}: ${built.message}`)
  return built.value
}

/** The roster entry event for `session` (agent-state `kind: 'roster'`). */
export function rosterEvent(
  session: SessionRecord,
  change: { action: RosterChange; agentId?: string; by: string },
  now: number,
): SessionEvent {
  return event('agent-state', rosterEntry(session, change), now)
}

/** A stop control for one agent (reason e.g. `removed`, `limit:agent-budget`). */
export function agentStopEvent(agentId: string, reason: string, by: string, now: number): SessionEvent {
  return event('agent-state', { kind: 'control', action: 'stop', agentId, reason, requestedBy: by }, now)
}

export class AgentChanges {
  constructor(private readonly deps: AgentChangesDeps) {}

  private async log(session: SessionRecord, events: SessionEvent[]): Promise<void> {
    await this.deps.logs.append(session.id, events)
    await this.deps.agentsChanged(session)
  }

  /**
   * A live session's record changed by `decide`, which sees the current record in the same atomic
   * store step as the write (two concurrent adds cannot both start from one list).
   */
  private async change(id: string, decide: (current: SessionRecord) => SessionPatch): Promise<{ before: SessionRecord; updated: SessionRecord }> {
    await this.deps.requireLive(id)
    let before: SessionRecord | undefined
    const updated = await this.deps.store.updateWith(
      id,
      (current) => {
        before = current
        return decide(current)
      },
      this.deps.now(),
    )
    if (!updated || !before) throw new SessionNotFoundError(id, 'id')
    return { before, updated }
  }

  async add(id: string, input: SessionAgentInput, by: string): Promise<SessionRecord> {
    const { updated } = await this.change(id, (session) => {
      if (session.agents.some((a) => a.id === input.id))
        throw new AgentListConflictError(`the session already has an agent ${input.id}`, 'id')
      if (session.agents.length >= MAX_AGENTS_PER_SESSION) {
        throw new AgentListConflictError(`a session has at most ${MAX_AGENTS_PER_SESSION} agents`, 'id')
      }
      return { agents: [...session.agents, input] }
    })
    await this.log(updated, [rosterEvent(updated, { action: 'added', agentId: input.id, by }, this.deps.now())])
    return updated
  }

  async remove(id: string, agentId: string, by: string): Promise<SessionRecord> {
    const { updated } = await this.change(id, (session) => {
      if (!session.agents.some((a) => a.id === agentId)) throw new UnknownAgentError(agentId)
      if (session.agents.length === 1)
        throw new AgentListConflictError('a session keeps at least one agent: terminate the session instead', 'agentId')
      const rest = session.agents.filter((a) => a.id !== agentId)
      const routing = session.routing.defaultAgent === agentId ? { ...session.routing, defaultAgent: rest[0]!.id } : session.routing
      return { agents: rest, routing }
    })
    const now = this.deps.now()
    await this.log(updated, [agentStopEvent(agentId, 'removed', by, now), rosterEvent(updated, { action: 'removed', agentId, by }, now)])
    return updated
  }

  /** PATCH with `agents` and/or `routing`: replaces them; agents no longer listed are stopped. */
  async replace(id: string, patch: SessionPatch, by: string): Promise<SessionRecord> {
    const { before, updated } = await this.change(id, () => patch)
    const kept = new Set(updated.agents.map((a) => a.id))
    const now = this.deps.now()
    const stops = patch.agents ? before.agents.filter((a) => !kept.has(a.id)).map((a) => agentStopEvent(a.id, 'removed', by, now)) : []
    await this.log(updated, [...stops, rosterEvent(updated, { action: 'updated', by }, now)])
    return updated
  }
}
