/**
 * Personal agent profiles (issue #11; specs/accounts.md, Personal agents):
 *   GET    /api/agents          the person's profiles (admins: `?all=1` for everyone's; an admin token: everyone's)
 *   POST   /api/agents          create one (a signed-in person: cookie or unscoped personal key) → 201
 *   GET    /api/agents/:id      one (its owner, admins)
 *   PATCH  /api/agents/:id      change it; `credential` sets or replaces, `credential: null` clears (its owner)
 *   DELETE /api/agents/:id      → 204 (its owner, admins)
 * Answers carry `credential: { set, updatedAt }` and never the value, for anyone. Off (404) with no
 * identity provider, like /api/keys. Creates, updates and deletes go to the audit log (no credential).
 */
import type { AuditInput } from '../ops/audit'
import { outcomeOf } from '../ops/audit'
import { HttpError, errorResponse, isAnswerable, json, parseWith, readJsonBody } from '../sessions/http'
import { ALL_SESSIONS, type TokenClaims } from '../sessions/tokens'
import { AGENTS_PATH, createProfileSchema, updateProfileSchema } from './agent-profile-types'
import { MAX_PROFILES_PER_USER, viewOf, type ProfileStore } from './profile-store'
import type { AgentProfileRow } from '../db/schema/agent-profiles'

export interface ProfilesApiOptions {
  store: ProfileStore
  enabled: () => boolean
  authenticate(req: Request): Promise<TokenClaims>
  maxBodyBytes: number
  /** Awaited, so an answer means its audit entry is written (AuditLog.record never throws). */
  audit?: (entry: AuditInput) => Promise<unknown> | unknown
}

const isAdmin = (c: TokenClaims) => c.role === 'admin' && c.sid === ALL_SESSIONS
/** The person the claims are (cookie or unscoped key), or null (tokens, share links, scoped keys). */
const personOf = (c: TokenClaims) => c.account ?? null

export function createProfilesApi(opts: ProfilesApiOptions): (req: Request) => Promise<Response> {
  const { store } = opts

  const requirePerson = (claims: TokenClaims): string => {
    const person = personOf(claims)
    if (!person) throw new HttpError(403, 'agent profiles belong to a signed-in person: use the sign-in cookie or an unscoped personal API key', 'token')
    return person
  }
  /** Owner, or (read, delete) an admin; anyone else learns nothing about the id. */
  const profileFor = async (claims: TokenClaims, id: string, adminMay: boolean): Promise<AgentProfileRow> => {
    const row = await store.get(id)
    const person = personOf(claims)
    if (row && (row.userId === person || (adminMay && isAdmin(claims)))) return row
    if (!person && !isAdmin(claims)) requirePerson(claims)
    throw new HttpError(404, `you have no agent profile ${id}`, 'id')
  }

  const audit = (claims: TokenClaims, action: string, target: string | null, status: number, detail?: Record<string, unknown>) =>
    opts.audit?.({ actor: { sub: claims.sub ?? null, role: claims.role }, action, target, outcome: outcomeOf(status), status, ...(detail ? { detail } : {}) })

  async function route(req: Request, claims: TokenClaims, rest: string[]): Promise<Response> {
    const notAllowed = (allow: string) => new HttpError(405, `method ${req.method} not allowed`, undefined, { allow })
    if (rest.length === 0) {
      if (req.method === 'GET') {
        const all = isAdmin(claims) && (!personOf(claims) || new URL(req.url).searchParams.get('all') === '1')
        const rows = await (all ? store.list(null) : store.list(requirePerson(claims)))
        return json({ agents: rows.map(viewOf) })
      }
      if (req.method !== 'POST') throw notAllowed('GET, POST')
      const person = requirePerson(claims)
      const input = parseWith(createProfileSchema, (await readJsonBody(req, opts.maxBodyBytes)) ?? {})
      // The cap is checked in the store, in one step with the insert (two requests cannot both pass it).
      const row = await store.insert(person, input, MAX_PROFILES_PER_USER)
      if (!row) throw new HttpError(409, `at most ${MAX_PROFILES_PER_USER} agent profiles per person: delete one first`)
      await audit(claims, 'agent.create', row.id, 201, { name: row.name, adapter: row.adapter, provider: row.provider, model: row.model, credentialSet: input.credential !== undefined })
      return json({ agent: viewOf(row) }, 201, { location: `${AGENTS_PATH}/${row.id}` })
    }
    if (rest.length !== 1) throw new HttpError(404, 'no such agents endpoint')
    const id = rest[0]!
    if (req.method === 'GET') return json({ agent: viewOf(await profileFor(claims, id, true)) })
    if (req.method === 'PATCH') {
      requirePerson(claims)
      await profileFor(claims, id, false)
      const input = parseWith(updateProfileSchema, (await readJsonBody(req, opts.maxBodyBytes)) ?? {})
      const row = await store.update(id, input)
      if (!row) throw new HttpError(404, `you have no agent profile ${id}`, 'id')
      const credentialChange = input.credential === undefined ? 'unchanged' : input.credential === null ? 'cleared' : 'set'
      await audit(claims, 'agent.update', id, 200, { fields: Object.keys(input).filter((k) => k !== 'credential'), credentialChange })
      return json({ agent: viewOf(row) })
    }
    if (req.method === 'DELETE') {
      const row = await profileFor(claims, id, true)
      await store.remove(row.id, null)
      await audit(claims, 'agent.delete', id, 204, { owner: row.userId })
      return new Response(null, { status: 204 })
    }
    throw notAllowed('GET, PATCH, DELETE')
  }

  return async (req) => {
    try {
      // Off means off: profiles made under an earlier configuration can be neither seen nor used.
      if (!opts.enabled()) throw new HttpError(404, 'sign-in is not configured on this server (no identity provider): no personal agents')
      const url = new URL(req.url)
      const rest = url.pathname
        .slice(AGENTS_PATH.length)
        .split('/')
        .filter(Boolean)
        .map((s) => decodeURIComponent(s))
      const claims = await opts.authenticate(req)
      return await route(req, claims, rest)
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      if (err instanceof URIError) return errorResponse(new HttpError(400, 'path is not valid percent-encoding', 'path'))
      throw err
    }
  }
}
