/**
 * The session lifecycle API under /api/sessions (a Request → Response handler):
 *   POST   /api/sessions                  create (admin)       → 201 { session, streamUrl, shareUrl, shareToken }
 *   GET    /api/sessions                  list (?status, ?pattern, ?limit, ?cursor), with presence + agents
 *   GET    /api/sessions/stats            counts by status and pattern, usage totals
 *   GET    /api/sessions/stats/summary    the stats dashboard's figures over ?from&to&bucket (admin; ops/stats-summary.ts)
 *   GET    /api/sessions/:id              one session (usage re-folded from its stream)
 *   PATCH  /api/sessions/:id              title, agent, limits, metadata (admin)
 *   DELETE /api/sessions/:id              end + delete record and stream (admin)
 *   POST   /api/sessions/:id/messages     append a user message → { ok, offset, messageId }
 *   POST   /api/sessions/:id/terminate    end now (admin)
 *   POST   /api/sessions/:id/join         exchange a share (view) link's token for a personal collaborator (viewer) token
 *   GET    /api/sessions/:id/share        a fresh share link (admin, collaborators)
 *   POST   /api/sessions/:id/model        the model gateway (that session's worker only; src/lib/gateway)
 *   POST   /api/sessions/:id/model/{anthropic,openai}/…  the same in those APIs' own formats (gateway/native.ts)
 *   POST   /api/sessions/:id/fork         fork at the end of a turn, with its workspace (admin; workspace-api.ts)
 *   POST   /api/sessions/:id/workspace-snapshots  snapshot the work dir at a turn's end (its worker, admin)
 *   POST   /api/sessions/:id/compact      compact the session's stream now (admin) → { before, after }
 *   GET|POST /api/sessions/:id/agents, DELETE …/agents/:agentId, POST …/agents/:agentId/token  (agents-api.ts)
 *   GET    /api/sessions/:id/view         the newest messages, turns, terminal window at an offset (session-view-api.ts)
 *   GET|POST /api/sessions/:id/members, DELETE …/members/:userId  people invited by account (src/lib/accounts/members-api.ts)
 * A signed-in person (account claims: src/lib/accounts) may also create sessions (they own them) and lists theirs.
 */
import { randomBytes } from 'node:crypto'
import { SESSIONS_MOUNT, sessionPagePath, sessionStreamUrl } from '../common/session-contract'
import { gatewayCredentialView } from '../gateway/credential'
import type { Authenticator } from './auth'
import { requireAdmin, requireSession } from './auth'
import { HttpError, errorResponse, isAnswerable, json, parseWith, readJsonBody } from './http'
import type { SessionManager } from './manager'
import {
  createSessionSchema,
  joinSchema,
  listQuerySchema,
  postMessageSchema,
  terminateSchema,
  updateSessionSchema,
  type SessionRecord,
} from './session-types'
import { CursorError, type SessionPage, type SessionStore } from './session-store'
import { ALL_SESSIONS, coversSession, type TokenClaims } from './tokens'
import type { SessionCompaction } from './compaction/service'
import { workspaceRoute } from './workspace-api'
import { agentsRoute } from './agents-api'
import { resolveProfiles, takeAgentProfileId, type ProfileLookup } from './agent-profiles-resolve'
import { sessionViewRoute } from './session-view-api'
import type { SessionViews } from './session-views'
import { startUnderQuota, type QuotaChecks } from '../accounts/quotas'
import type { RateCheck } from '../ops/rate-limit'

export interface SessionsApiOptions {
  manager: SessionManager
  store: SessionStore
  auth: Authenticator
  basePath?: string
  /** Where the streams protocol is mounted (for streamUrl in answers). */
  streamsBasePath: string
  /** Public origin for share links; default: the request's origin. */
  publicUrl?: string
  /** Path of the UI page for a session; `:id` is replaced. */
  sessionPagePath?: string
  maxBodyBytes: number
  /** The model gateway (POST :id/model); it checks roles itself. */
  model?: (req: Request, claims: TokenClaims, sessionId: string) => Promise<Response>
  /** Stream compaction (POST :id/compact, admin); absent = 501. */
  compaction?: SessionCompaction
  /** GET stats/summary (admin; src/lib/ops/stats-summary.ts); absent = 501. */
  statsSummary?: (req: Request, claims: TokenClaims) => Response | Promise<Response>
  /** GET :id/view, the page's opening state (session-view-api.ts); absent = 404. */
  views?: SessionViews
  /** Accounts (src/lib/accounts): the members sub-resource and the sessions a person may list; absent = 404 / none. */
  accounts?: {
    members(req: Request, claims: TokenClaims, id: string, segments: string[], body: (req: Request) => Promise<unknown>): Promise<Response | null>
    visibleSessionIds(userId: string): string[] | Promise<string[]>
    /** Sessions and agents made from personal agent profiles (agent-profiles-resolve.ts). */
    profileLookup?: ProfileLookup
  }
  /** Per-person quotas on create and fork (src/lib/accounts/quotas.ts); absent = none. */
  quotas?: QuotaChecks
  /** Request rate limit (src/lib/ops/rate-limit.ts), checked after authentication; not on `:id/model`. */
  rateLimit?: RateCheck
}

const ANY_SESSION_ROLE = ['viewer', 'collaborator', 'worker', 'admin'] as const

export function createSessionsApi(opts: SessionsApiOptions): (req: Request) => Promise<Response> {
  const base = (opts.basePath ?? SESSIONS_MOUNT).replace(/\/+$/, '')
  const { manager, store, auth } = opts

  const origin = (req: Request) => (opts.publicUrl ?? new URL(req.url).origin).replace(/\/+$/, '')
  const streamUrlOf = (id: string) => sessionStreamUrl(opts.streamsBasePath, id)

  const body = async (req: Request) => {
    const b = await readJsonBody(req, opts.maxBodyBytes)
    return b === undefined ? {} : b
  }

  async function shareLink(req: Request, session: SessionRecord): Promise<{ shareToken: string | null; shareUrl: string }> {
    const path = opts.sessionPagePath?.replace(':id', encodeURIComponent(session.id)) ?? sessionPagePath(session.id)
    const page = `${origin(req)}${path}`
    if (!auth.enabled) return { shareToken: null, shareUrl: page }
    // No subject: the holder may read and join (get a personal token), not write as anyone.
    const shareToken = await auth.issue({ role: 'collaborator', sessionId: session.id })
    return { shareToken, shareUrl: `${page}?token=${encodeURIComponent(shareToken)}` }
  }

  const getSession = async (id: string): Promise<SessionRecord> => {
    const s = await store.get(id)
    if (!s) throw new HttpError(404, `unknown session ${id}`, 'id')
    return s
  }

  async function route(req: Request, claims: TokenClaims, segments: string[]): Promise<Response> {
    const method = req.method
    const notAllowed = (allow: string) => new HttpError(405, `method ${method} not allowed`, undefined, { allow })

    if (segments.length === 0) {
      if (method === 'POST') {
        // A signed-in person creates sessions of their own (createdBy = their user id: the owner).
        if (!(claims.account && claims.role !== 'admin')) requireAdmin(claims)
        const { rest, agentProfileId } = takeAgentProfileId(await body(req))
        const input = await resolveProfiles(claims, opts.accounts?.profileLookup, parseWith(createSessionSchema, rest), agentProfileId)
        return startUnderQuota(opts.quotas, claims, async () => {
          const session = await manager.create({ ...input, createdBy: claims.sub ?? null })
          const share = await shareLink(req, session)
          return json({ session, streamUrl: streamUrlOf(session.id), ...share }, 201, { location: `${base}/${session.id}` })
        })
      }
      if (method === 'GET') {
        const url = new URL(req.url)
        const q = parseWith(listQuerySchema, Object.fromEntries(url.searchParams), 'query')
        const onlyId = claims.sid === ALL_SESSIONS ? undefined : claims.sid
        // A signed-in person (not an admin) sees the sessions they own or were invited to.
        const mine = claims.account && claims.sid !== ALL_SESSIONS ? { onlyIds: (await opts.accounts?.visibleSessionIds(claims.account)) ?? [] } : { onlyId }
        let page: SessionPage
        try {
          page = mine.onlyIds?.length === 0 ? { sessions: [], nextCursor: null } : await store.list({ ...q, ...mine })
        } catch (err) {
          if (err instanceof CursorError) throw new HttpError(400, err.message, 'query.cursor')
          throw err
        }
        // Who is present and what the agents do, from each live session's fold (no read once loaded).
        const sessions = await Promise.all(page.sessions.map(async (s) => ({ ...s, ...(await manager.presenceAndAgents(s.id)) })))
        return json({ sessions, nextCursor: page.nextCursor })
      }
      throw notAllowed('GET, POST')
    }

    if (segments.length === 1 && segments[0] === 'stats') {
      if (method !== 'GET') throw notAllowed('GET')
      return json(await store.stats(claims.sid === ALL_SESSIONS ? undefined : claims.sid))
    }
    if (segments.length === 2 && segments[0] === 'stats' && segments[1] === 'summary') {
      if (method !== 'GET') throw notAllowed('GET')
      if (!opts.statsSummary) throw new HttpError(501, 'stats summary is not configured on this server')
      return opts.statsSummary(req, claims)
    }

    const id = segments[0]
    if (segments.length === 1) {
      if (method === 'GET') {
        requireSession(claims, id, ANY_SESSION_ROLE)
        await getSession(id)
        const session = await manager.refresh(id)
        // A source's forks (ids of other sessions): only for an admin of all sessions.
        const forks = claims.sid === ALL_SESSIONS && claims.role === 'admin' ? { forks: await store.forksOf(id) } : {}
        return json({ session, streamUrl: streamUrlOf(id), ...forks })
      }
      if (method === 'PATCH') {
        requireSession(claims, id, ['admin'])
        await getSession(id)
        const patch = await resolveProfiles(claims, opts.accounts?.profileLookup, parseWith(updateSessionSchema, await body(req)))
        // A new agent list or routing is logged in the stream and reaches the workers (agent-changes.ts).
        if (patch.agents || patch.routing) {
          const by = claims.sub ?? 'admin'
          return json({ session: await manager.agents.replace(id, patch, by) })
        }
        return json({ session: await manager.update(id, patch) })
      }
      if (method === 'DELETE') {
        requireSession(claims, id, ['admin'])
        await getSession(id)
        await manager.remove(id)
        return new Response(null, { status: 204 })
      }
      throw notAllowed('GET, PATCH, DELETE')
    }

    const agents = await agentsRoute({ manager, auth, body, profileLookup: opts.accounts?.profileLookup }, req, claims, id, segments)
    if (agents) return agents
    const members = segments[1] === 'members' && opts.accounts ? await opts.accounts.members(req, claims, id, segments, body) : null
    if (members) return members
    // The gateway's native wire endpoints (…/model/anthropic/…, …/model/openai/…): it reads the rest of the path.
    if (segments[1] === 'model' && segments.length > 2 && opts.model) return await opts.model(req, claims, id)

    if (segments.length === 2) {
      const action = segments[1]
      const workspace = () =>
        workspaceRoute({ manager, body, shareLink, streamUrlOf, recordPath: (sid) => `${base}/${encodeURIComponent(sid)}` }, req, claims, id, action)
      // A fork starts a session: under the person's quota (only an admin may fork; others get its 403).
      if (action === 'fork' && method === 'POST' && claims.sid === ALL_SESSIONS)
        return startUnderQuota(opts.quotas, claims, async () => (await workspace()) as Response)
      const forkOrSnapshot = await workspace()
      if (forkOrSnapshot) return forkOrSnapshot
      if (action === 'view' && opts.views) {
        await getSession(id)
        return (await sessionViewRoute(opts.views, req, claims, id, action)) as Response
      }
      if (action === 'messages') {
        if (method !== 'POST') throw notAllowed('POST')
        requireSession(claims, id, ['collaborator', 'admin'])
        await getSession(id)
        const msg = parseWith(postMessageSchema, await body(req))
        if (msg.author !== undefined && claims.role !== 'admin' && msg.author !== claims.sub) {
          throw new HttpError(403, 'only admin may post as another author', 'author')
        }
        const author = msg.author ?? claims.sub ?? (claims.role === 'admin' ? 'admin' : undefined)
        if (!author) throw new HttpError(403, 'this token has no user: join the session first (POST /api/sessions/:id/join)', 'token')
        const result = await manager.postMessage(id, { ...msg, author })
        return json({ ok: true, offset: result.offset, messageId: result.messageId, duplicates: result.duplicates }, 201)
      }
      if (action === 'share') {
        if (method !== 'GET') throw notAllowed('GET')
        // Whoever may share: admins and the session's collaborators (the creator is an admin).
        requireSession(claims, id, ['collaborator', 'admin'])
        const session = await getSession(id)
        return json({ ...(await shareLink(req, session)), streamUrl: streamUrlOf(id) })
      }
      if (action === 'terminate') {
        if (method !== 'POST') throw notAllowed('POST')
        requireSession(claims, id, ['admin'])
        const input = parseWith(terminateSchema, await body(req))
        await manager.requireLive(id)
        const session = await manager.end(id, 'terminated', input.reason ?? 'terminated', claims.sub ?? 'admin')
        // The stream is closed now: compact it once (specs/sessions.md, Retention and compaction).
        opts.compaction?.compactEnded(id)
        return json({ session })
      }
      if (action === 'model' && opts.model) return await opts.model(req, claims, id)
      if (action === 'compact') {
        if (method !== 'POST') throw notAllowed('POST')
        requireSession(claims, id, ['admin'])
        await getSession(id)
        if (!opts.compaction) throw new HttpError(501, 'stream compaction is not configured on this server')
        return json(await opts.compaction.compact(id))
      }
      if (action === 'join') {
        if (method !== 'POST') throw notAllowed('POST')
        requireSession(claims, id, ['viewer', 'collaborator', 'admin'])
        const input = parseWith(joinSchema, await body(req))
        await manager.requireLive(id)
        // Never more rights than the link had: a view link gets a personal viewer token (it may then
        // show itself in presence, nothing else); a share link or an admin a collaborator one.
        const role = claims.role === 'viewer' ? 'viewer' : 'collaborator'
        const userId = claims.role !== 'admin' && claims.sub ? claims.sub : `u_${randomBytes(8).toString('base64url')}`
        const name = input.displayName ?? claims.name
        const token = await auth.issue({ role, sessionId: id, subject: userId, ...(name ? { name } : {}) })
        return json({ token, userId, role, displayName: name ?? null, streamUrl: streamUrlOf(id) }, 201)
      }
    }
    throw new HttpError(404, 'no such sessions endpoint')
  }

  return async (req) => {
    try {
      const url = new URL(req.url)
      if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) throw new HttpError(404, 'not a sessions path')
      const segments = url.pathname
        .slice(base.length)
        .split('/')
        .filter(Boolean)
        .map((s) => {
          try {
            return decodeURIComponent(s)
          } catch {
            throw new HttpError(400, 'path is not valid percent-encoding', 'path')
          }
        })
      // The model gateway also takes its worker token as `x-api-key` (what Anthropic clients send).
      const claims = await auth.authenticate(segments[1] === 'model' ? gatewayCredentialView(req) : req)
      if (segments.length >= 1 && segments[0] !== 'stats' && !coversSession(claims, segments[0])) {
        throw new HttpError(403, `token is not valid for session ${segments[0]}`, 'token')
      }
      // Model calls are bounded by budgets and quotas, not by the request rate.
      const limited = segments[1] === 'model' ? null : await opts.rateLimit?.(claims, 'sessions')
      if (limited) return limited
      return await route(req, claims, segments)
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }
}
