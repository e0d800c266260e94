/**
 * A session's agents (issue #15) as records hold them: the list, its routing and the roster the
 * stream logs. A session created with one `agent` config stores no list; its list is that agent
 * under the id `agent` (when it has a model), so old and new sessions read the same way.
 */
import {
  DEFAULT_AGENT_ID,
  DEFAULT_MAX_AGENT_TURNS_IN_A_ROW,
  ROSTER_ENTRY_ID,
  type Roster,
  type UnaddressedRouting,
} from '../common/agent-roster'
import type { AgentConfig, AgentRouting, AgentRoutingInput, SessionAgent, SessionAgentInput, SessionRecord } from './session-types'

const configOf = (a: SessionAgent | SessionAgentInput): AgentConfig => {
  const { id: _id, name: _name, limits: _limits, ...config } = a
  return config
}

export function normaliseAgent(input: SessionAgentInput): SessionAgent {
  return {
    ...configOf(input),
    id: input.id,
    name: input.name ?? input.id,
    limits: { maxBudgetUsd: input.limits?.maxBudgetUsd ?? null, maxTurns: input.limits?.maxTurns ?? null },
  }
}

/** The routing of `agents`: a default agent that is on the list, whatever was stored. */
export function normaliseRouting(agents: readonly SessionAgent[], input: AgentRoutingInput | undefined): AgentRouting {
  const ids = agents.map((a) => a.id)
  const defaultAgent = input?.defaultAgent && ids.includes(input.defaultAgent) ? input.defaultAgent : (ids[0] ?? DEFAULT_AGENT_ID)
  const unaddressed: UnaddressedRouting = input?.unaddressed ?? 'default'
  return { defaultAgent, unaddressed, maxAgentTurnsInARow: input?.maxAgentTurnsInARow ?? DEFAULT_MAX_AGENT_TURNS_IN_A_ROW }
}

/** The record's view of the stored columns (agent_config, agents, agent_routing). */
export function agentsFromStored(
  agentConfig: AgentConfig,
  stored: SessionAgent[],
  routing: AgentRoutingInput,
): { agent: AgentConfig; agents: SessionAgent[]; routing: AgentRouting } {
  const agents =
    stored.length > 0
      ? stored.map((a) => normaliseAgent(a))
      : agentConfig.model || agentConfig.provider
        ? [normaliseAgent({ ...agentConfig, id: DEFAULT_AGENT_ID })]
        : []
  const normalised = normaliseRouting(agents, routing)
  const primary = agents.find((a) => a.id === normalised.defaultAgent)
  return { agent: stored.length > 0 && primary ? configOf(primary) : agentConfig, agents, routing: normalised }
}

/** What the columns hold for an agent list (agent_config mirrors the default agent for seed 001's readers). */
export function agentsToStored(
  agents: readonly SessionAgentInput[],
  routing: AgentRoutingInput | undefined,
): { agentConfig: AgentConfig; agents: SessionAgent[]; routing: AgentRouting } {
  const list = agents.map(normaliseAgent)
  const normalised = normaliseRouting(list, routing)
  const primary = list.find((a) => a.id === normalised.defaultAgent) ?? list[0]
  return { agentConfig: primary ? configOf(primary) : {}, agents: list, routing: normalised }
}

export function rosterOf(session: Pick<SessionRecord, 'agents' | 'routing'>): Roster {
  return { agents: session.agents.map((a) => ({ id: a.id, name: a.name })), ...session.routing }
}

export function agentOf(session: Pick<SessionRecord, 'agents'>, agentId: string): SessionAgent | null {
  return session.agents.find((a) => a.id === agentId) ?? null
}

/** The roster entry the stream logs (agent-state `kind: 'roster'`), without its timestamp. */
export function rosterEntry(
  session: Pick<SessionRecord, 'agents' | 'routing'>,
  change: { action: 'created' | 'added' | 'removed' | 'updated'; agentId?: string; by: string },
): Record<string, unknown> {
  return { id: ROSTER_ENTRY_ID, kind: 'roster', ...rosterOf(session), change }
}
