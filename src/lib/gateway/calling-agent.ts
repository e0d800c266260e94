/**
 * Which of a session's agents is calling the model gateway (issue #15): the worker token's
 * subject is the agent id, and the agent decides the model it may call and the limits it runs
 * under. A single-agent session (seed 001's `agent`) keeps today's rule: whatever the worker's
 * subject, it is the agent `agent`, calling the session's model.
 */
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import { isSingleAgent } from '../sessions/agent-usage'
import { HttpError } from '../sessions/http'
import type { AgentConfig, SessionAgent, SessionRecord } from '../sessions/session-types'
import { sessionModelName } from './model-name'

export interface CallingAgent {
  id: string
  /** The model it may call (`model-name.ts`), from its own provider/model. */
  model: string
  limits: SessionAgent['limits']
}

const NO_LIMITS: SessionAgent['limits'] = { maxBudgetUsd: null, maxTurns: null }

const calling = (id: string, config: AgentConfig, limits: SessionAgent['limits']): CallingAgent => ({
  id,
  model: sessionModelName(config.provider, config.model),
  limits,
})

/**
 * The calling agent, or 403 naming the subject when it is not one of the session's agents.
 * `authEnabled` false: every caller is admin with no subject, so the agent is the one whose
 * model was asked for (the default agent first); there is no security to keep then anyway.
 */
export function callingAgent(
  session: Pick<SessionRecord, 'agent' | 'agents' | 'routing'>,
  subject: string | undefined,
  requestedModel: string,
  authEnabled: boolean,
): CallingAgent {
  if (isSingleAgent(session)) return calling(DEFAULT_AGENT_ID, session.agent, session.agents[0]?.limits ?? NO_LIMITS)
  const own = session.agents.find((a) => a.id === subject)
  if (own) return calling(own.id, own, own.limits)
  if (!authEnabled) {
    const ordered = [...session.agents].sort((a, b) => Number(b.id === session.routing.defaultAgent) - Number(a.id === session.routing.defaultAgent))
    const match = ordered.find((a) => sessionModelName(a.provider, a.model) === requestedModel) ?? ordered[0]!
    return calling(match.id, match, match.limits)
  }
  throw new HttpError(
    403,
    `worker ${subject ?? '(no subject)'} is not an agent of this session (agents: ${session.agents.map((a) => a.id).join(', ')}): only a session's agents may call its models`,
    'sub',
  )
}
