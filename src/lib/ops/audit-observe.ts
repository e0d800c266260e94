/**
 * Audit entries for actions served by other handlers, without touching them: each wrapper sees
 * the request (method, path, the token's subject and role) and the answer's status, never a
 * response body that carries a token. Which actions count is listed here, in one place.
 */
import { SESSIONS_MOUNT } from '../common/session-contract'
import type { Authenticator } from '../sessions/auth'
import { actorOf, outcomeOf, type AuditLog } from './audit'

interface Classified {
  action: string
  target: string | null
  /** Reads the fields the entry may show (never a token) from a copy of the request. */
  detail?: (req: Request) => Promise<Record<string, unknown>>
}

/** Field names of a PATCH and the limits it sets (numbers only). */
async function patchDetail(req: Request): Promise<Record<string, unknown>> {
  try {
    const body: unknown = await req.json()
    if (typeof body !== 'object' || body === null) return {}
    const limits = (body as { limits?: unknown }).limits
    return { fields: Object.keys(body), ...(typeof limits === 'object' && limits !== null ? { limits } : {}) }
  } catch {
    return {}
  }
}

/** The audited actions of /api/sessions (others: null). */
export function classifySessionsRequest(req: Request): Classified | null {
  const path = new URL(req.url).pathname
  if (!path.startsWith(SESSIONS_MOUNT)) return null
  const segs = path.slice(SESSIONS_MOUNT.length).split('/').filter(Boolean)
  const m = req.method
  if (segs.length === 0) return m === 'POST' ? { action: 'session.create', target: null } : null
  let id: string
  try {
    id = decodeURIComponent(segs[0])
  } catch {
    return null
  }
  if (segs.length === 1) {
    if (m === 'DELETE') return { action: 'session.delete', target: id }
    // A PATCH that sets limits is a quota change; its entry shows the new limits.
    if (m === 'PATCH') return { action: 'session.update', target: id, detail: patchDetail }
    return null
  }
  if (segs.length !== 2) return null
  const actions: Record<string, [string, string]> = {
    terminate: ['POST', 'session.terminate'],
    share: ['GET', 'share.create'],
    join: ['POST', 'session.join'],
    fork: ['POST', 'session.fork'],
    compact: ['POST', 'session.compact'],
  }
  const hit = actions[segs[1]]
  return hit && hit[0] === m ? { action: hit[1], target: id } : null
}

type Handler = (req: Request) => Promise<Response>

export function auditSessions(handler: Handler, audit: AuditLog, auth: Authenticator): Handler {
  return async (req) => {
    const c = classifySessionsRequest(req)
    if (!c) return handler(req)
    const copy = c.detail ? req.clone() : null
    const actor = await actorOf(auth, req)
    const res = await handler(req)
    let detail = copy && c.detail ? await c.detail(copy) : undefined
    let action = c.action
    if (action === 'session.update' && detail && 'limits' in detail) action = 'quota.change'
    if (detail && Object.keys(detail).length === 0) detail = undefined
    let target = c.target
    if (action === 'session.create' && res.status === 201) target = res.headers.get('location')?.split('/').pop() ?? null
    await audit.record({ actor, action, target, outcome: outcomeOf(res.status), status: res.status, ...(detail ? { detail } : {}) })
    return res
  }
}

/** POST /api/auth/exchange: a sign-in with a one-time code (the code is never recorded). */
export function auditSignIn(handler: Handler, audit: AuditLog): Handler {
  return async (req) => {
    const res = await handler(req)
    if (req.method === 'POST') {
      const ok = res.status < 400
      await audit.record({
        actor: ok ? { sub: 'local-admin', role: 'admin' } : { sub: null, role: null },
        action: 'auth.sign-in',
        target: null,
        outcome: outcomeOf(res.status),
        status: res.status,
      })
    }
    return res
  }
}
