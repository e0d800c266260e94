/**
 * Adding and removing a session's agents from the page (issue #15; specs/agents.md):
 * `POST /api/sessions/:id/agents` and `DELETE /api/sessions/:id/agents/:agentId`, with the page's
 * token. A refusal becomes an ApiError carrying the server's reason, which the page shows inline.
 */
import { SESSIONS_MOUNT } from '../../common/session-contract'
import type { SessionAgentInput, SessionRecord } from '../session-types'
import { call } from './api'

const agentsPath = (sessionId: string, agentId?: string) =>
  `${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}/agents${agentId ? `/${encodeURIComponent(agentId)}` : ''}`

async function send(path: string, token: string | undefined, init: RequestInit): Promise<SessionRecord | undefined> {
  const body = await call<{ session?: SessionRecord } | undefined>(path, token, init)
  return body && typeof body === 'object' && 'session' in body ? body.session : undefined
}

export function addAgent(token: string | undefined, sessionId: string, agent: SessionAgentInput): Promise<SessionRecord | undefined> {
  return send(agentsPath(sessionId), token, { method: 'POST', body: JSON.stringify(agent) })
}

export function removeAgent(token: string | undefined, sessionId: string, agentId: string): Promise<SessionRecord | undefined> {
  return send(agentsPath(sessionId, agentId), token, { method: 'DELETE' })
}
