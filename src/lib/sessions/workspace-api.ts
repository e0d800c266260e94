/**
 * The sessions API's fork and workspace routes (mounted by sessions-api.ts):
 *   POST /api/sessions/:id/workspace-snapshots  {turn, messageId?} → 201 {turn, bytes}
 *        that session's worker (after a turn settles, before its next one) or an admin: copy the
 *        work dir as the snapshot of that turn. 409 no running worker; 413 over the size limit.
 *   POST /api/sessions/:id/fork                 {turn | messageId, title?} → 201 {session, workspace,
 *        streamUrl, shareUrl, shareToken} (admin: a fork is a new session, like create)
 * Roles per route: specs/security.md.
 */
import { WorkspaceTooLargeError, WorkspaceUnavailableError } from '../workers/workspaces'
import { requireAdmin, requireSession } from './auth'
import { forkSession } from './fork'
import { HttpError, json, parseWith } from './http'
import type { SessionManager } from './manager'
import { forkSessionSchema, type SessionRecord, sessionStreamPath, workspaceSnapshotSchema } from './session-types'
import { streamTail } from './fork-stream'
import type { TokenClaims } from './tokens'

export interface WorkspaceRoutesContext {
  manager: SessionManager
  /** The request's JSON body ({} when empty). */
  body(req: Request): Promise<unknown>
  shareLink(req: Request, session: SessionRecord): Promise<{ shareToken: string | null; shareUrl: string }>
  streamUrlOf(id: string): string
  /** Where a session's record is (Location of a fork). */
  recordPath(id: string): string
}

/** Answers `action` ('fork' or 'workspace-snapshots') for session `id`, or null when it is neither. */
export async function workspaceRoute(
  ctx: WorkspaceRoutesContext,
  req: Request,
  claims: TokenClaims,
  id: string,
  action: string,
): Promise<Response | null> {
  if (action !== 'fork' && action !== 'workspace-snapshots') return null
  if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'POST' })
  const { manager } = ctx

  if (action === 'fork') {
    // Forking makes a session, so it takes what creating one takes: an admin token for all sessions.
    requireAdmin(claims)
    const input = parseWith(forkSessionSchema, await ctx.body(req))
    const { session, workspace } = await forkSession(manager, id, input, claims.sub ?? null)
    const share = await ctx.shareLink(req, session)
    return json({ session, workspace, streamUrl: ctx.streamUrlOf(session.id), ...share }, 201, { location: ctx.recordPath(session.id) })
  }

  requireSession(claims, id, ['worker', 'admin'])
  if (!(await manager.get(id))) throw new HttpError(404, `unknown session ${id}`, 'id')
  const input = parseWith(workspaceSnapshotSchema, await ctx.body(req))
  const snapshot = manager.workerCallbacks.snapshotWorkspace
  if (!snapshot) throw new HttpError(409, 'this server runs no workers: there is no workspace to snapshot', 'id')
  // The stream's tail as the turn settled: offsets stay valid through compaction, so a fork of this
  // turn can start here when its exact end can no longer be computed (fork.ts).
  const offset = await streamTail(manager.streams, sessionStreamPath(id)).catch(() => undefined)
  try {
    const result = await snapshot.call(manager.workerCallbacks, id, input.turn, offset ? { offset } : {})
    return json(result, 201)
  } catch (err) {
    // Logged where it is refused (workers/workspaces.ts); a fork at that turn then starts empty.
    if (err instanceof WorkspaceTooLargeError) throw new HttpError(413, err.message, 'turn')
    if (err instanceof WorkspaceUnavailableError) throw new HttpError(409, err.message, 'id')
    throw err
  }
}
