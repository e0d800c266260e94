/**
 * Adding and removing a session's agents from the page (issue #15; specs/agents.md):
 * `POST /api/sessions/:id/agents` and `DELETE /api/sessions/:id/agents/:agentId`, with the page's
 * token. A refusal becomes an ApiError carrying the server's reason, which the page shows inline.
 */
import { SESSIONS_MOUNT } from '../../common/session-contract'
import type { SessionAgentInput, SessionRecord } from '../session-types'
import { ApiError } from './api'
import { authHeaders } from './auth'

const agentsPath = (sessionId: string, agentId?: string) =>
  `${SESSIONS_MOUNT}/${encodeURIComponent(sessionId)}/agents${agentId ? `/${encodeURIComponent(agentId)}` : ''}`

async function send(path: string, token: string | undefined, init: RequestInit): Promise<SessionRecord | undefined> {
  let response: Response
  try {
    response = await fetch(path, {
      ...init,
      headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...authHeaders(token) },
    })
  } catch (err) {
    throw new ApiError(`could not reach the server (${err instanceof Error ? err.message : String(err)})`, 0)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text ? JSON.parse(text) : undefined
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const b = body as { error?: unknown; message?: unknown } | undefined
    const reason = b && typeof b === 'object' ? String(b.error ?? b.message ?? '') : ''
    throw new ApiError(reason || text.trim() || `request failed (${response.status})`, response.status)
  }
  return body && typeof body === 'object' && 'session' in body ? (body as { session: SessionRecord }).session : undefined
}

export function addAgent(token: string | undefined, sessionId: string, agent: SessionAgentInput): Promise<SessionRecord | undefined> {
  return send(agentsPath(sessionId), token, { method: 'POST', body: JSON.stringify(agent) })
}

export function removeAgent(token: string | undefined, sessionId: string, agentId: string): Promise<SessionRecord | undefined> {
  return send(agentsPath(sessionId, agentId), token, { method: 'DELETE' })
}
