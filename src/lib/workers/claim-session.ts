/**
 * The part of a session record a worker needs to start (its pattern, agents, routing), sent
 * with a warm claim (issue #13) so the claimed worker need not ask the app for the record before
 * its first heartbeat: it only reads the stream. What the worker's own token may read anyway
 * (GET /api/sessions/<id>), minus everything it does not use (title, metadata, usage, limits,
 * creator, profile ids). It travels on the worker's stdin, never in its environment.
 */
import type { SessionRecord } from '../sessions/session-types'

/** What src/worker/session-config.ts reads of a session record (sessionConfigFrom, sessionAgentsFrom). */
export interface ClaimSession {
  pattern: string
  agent: AgentFields
  agents: Array<AgentFields & { id: string; name: string }>
  routing: { defaultAgent: string }
}

type AgentFields = Pick<SessionRecord['agent'], 'model' | 'provider' | 'systemPrompt' | 'allowedTools' | 'adapter'>

function agentFields(a: SessionRecord['agent']): AgentFields {
  const { model, provider, systemPrompt, allowedTools, adapter } = a
  return {
    ...(model !== undefined ? { model } : {}),
    ...(provider !== undefined ? { provider } : {}),
    ...(systemPrompt !== undefined ? { systemPrompt } : {}),
    ...(allowedTools !== undefined ? { allowedTools } : {}),
    ...(adapter !== undefined ? { adapter } : {}),
  }
}

export function claimSessionOf(session: SessionRecord): ClaimSession {
  return {
    pattern: session.pattern,
    agent: agentFields(session.agent),
    agents: session.agents.map((a) => ({ id: a.id, name: a.name, ...agentFields(a) })),
    routing: { defaultAgent: session.routing.defaultAgent },
  }
}
