/**
 * A session's agents in the sessions API (issue #15; specs/agents.md):
 *   GET    /api/sessions/:id/agents                  the list, routing, roster and per-agent usage (any session role)
 *   POST   /api/sessions/:id/agents                  add one (admin, or the session's owner)
 *   DELETE /api/sessions/:id/agents/:agentId         remove one (admin, or the session's owner)
 *   POST   /api/sessions/:id/agents/:agentId/token   a worker token for another agent of a
 *          single-container session (that session's worker only: its agents share one sandbox)
 */
import { isOwnerOrAdmin, requireSession } from './auth'
import { HttpError, json, parseWith } from './http'
import type { SessionManager } from './manager'
import { agentUsages } from './agent-usage'
import type { SessionFold } from './fold'
import { rosterOf } from './session-agents'
import { sessionAgentSchema, type SessionRecord } from './session-types'
import { DEFAULT_TTL_SECONDS, type TokenClaims } from './tokens'
import type { Authenticator } from './auth'
import { resolveAgentEntry, type ProfileLookup } from './agent-profiles-resolve'

export interface AgentsRouteDeps {
  manager: SessionManager
  auth: Authenticator
  body(req: Request): Promise<unknown>
  /** An entry with `profileId` is filled from that personal agent profile (its owner or an admin only). */
  profileLookup?: ProfileLookup | undefined
}

const ANY_SESSION_ROLE = ['viewer', 'collaborator', 'worker', 'admin'] as const

/** Admins of the session, or the person who created it (issue #15: "admin or the session's owner"). */
export function requireOwnerOrAdmin(claims: TokenClaims, session: SessionRecord): void {
  requireSession(claims, session.id, ['admin', 'collaborator'])
  if (!isOwnerOrAdmin(claims, session.id, session.createdBy)) {
    throw new HttpError(403, "only an admin or the session's owner may change its agents", 'token')
  }
}

/** The list, its routing, the roster and each agent's usage (removed agents keep a row: the rows sum to the session's). */
function agentsView(session: SessionRecord, fold: Pick<SessionFold, 'agents'> | null) {
  return { agents: session.agents, routing: session.routing, roster: rosterOf(session), usage: agentUsages(fold, session) }
}

/** Answers the `agents` sub-resource of session `id`; null when `segments` is not one. */
export async function agentsRoute(
  deps: AgentsRouteDeps,
  req: Request,
  claims: TokenClaims,
  id: string,
  segments: string[],
): Promise<Response | null> {
  if (segments[1] !== 'agents' || segments.length > 4) return null
  const { manager } = deps
  const session = await manager.get(id)
  if (!session) throw new HttpError(404, `unknown session ${id}`, 'id')
  const by = claims.sub ?? claims.role
  const notAllowed = (allow: string) => new HttpError(405, `method ${req.method} not allowed`, undefined, { allow })

  if (segments.length === 2) {
    if (req.method === 'GET') {
      requireSession(claims, id, ANY_SESSION_ROLE)
      const fold = await manager.logs.fold(id).catch(() => null)
      return json(agentsView(session, fold))
    }
    if (req.method === 'POST') {
      requireOwnerOrAdmin(claims, session)
      const input = await resolveAgentEntry(claims, deps.profileLookup, parseWith(sessionAgentSchema, await deps.body(req)))
      const updated = await manager.agents.add(id, input, by)
      return json({ session: updated }, 201)
    }
    throw notAllowed('GET, POST')
  }

  const agentId = segments[2]!
  if (segments.length === 3) {
    if (req.method !== 'DELETE') throw notAllowed('DELETE')
    requireOwnerOrAdmin(claims, session)
    return json({ session: await manager.agents.remove(id, agentId, by) })
  }

  if (segments[3] !== 'token') return null
  if (req.method !== 'POST') throw notAllowed('POST')
  requireSession(claims, id, ['worker', 'admin'])
  await manager.requireLive(id)
  if (session.pattern !== 'single-container') {
    throw new HttpError(403, 'only a single-container session runs several agents in one worker', 'pattern')
  }
  if (!session.agents.some((a) => a.id === agentId)) throw new HttpError(404, `the session has no agent ${agentId}`, 'agentId')
  // Never outlives the caller's own token.
  const remaining = claims.exp - Math.floor(Date.now() / 1000)
  const ttlSeconds = Math.max(60, Math.min(remaining, DEFAULT_TTL_SECONDS.worker))
  const token = await deps.auth.issue({ role: 'worker', sessionId: id, subject: agentId, ttlSeconds })
  return json({ token, agentId, expiresInSeconds: ttlSeconds }, 201)
}
