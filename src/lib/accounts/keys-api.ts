/**
 * Personal API keys (specs/accounts.md), managed by the signed-in person in a browser (cookie):
 *   POST   /api/keys        { name, sessionId?, role? } → 201 { key, … }: the key is shown this once
 *   GET    /api/keys        the person's keys (never the key: name, first characters, scope, last use)
 *   DELETE /api/keys/:id    revoke → 204
 * A key can not manage keys: a leaked key must not be able to mint more or hide its revocation.
 * Stored as its SHA-256; `tk_` marks it so the authenticator knows it from a token.
 */
import { z } from 'zod'
import type { ApiKeyRow, UserRow } from '../db/schema/accounts'
import { HttpError, errorResponse, isAnswerable, json, parseWith, readJsonBody } from '../sessions/http'
import { newId, type AccountStore } from './account-store'
import { randomSecret, requireSameOrigin, sha256 } from './cookies'
import { API_KEY_PREFIX, type AccountCredentials } from './credentials'

export const KEYS_PATH = '/api/keys'
/** Keys one person may hold: enough for every program, few enough to review. */
const MAX_KEYS_PER_USER = 100

const createKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100).regex(/^[^\p{Cc}]*$/u, 'no control characters'),
    sessionId: z.string().min(1).max(200).optional(),
    role: z.enum(['viewer', 'collaborator']).optional(),
  })
  .strict()
  .refine((k) => (k.sessionId === undefined) === (k.role === undefined), { message: 'a scoped key needs both sessionId and role', path: ['role'] })

const view = (k: ApiKeyRow) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  sessionId: k.sessionId,
  role: k.role,
  createdAt: k.createdAt,
  lastUsedAt: k.lastUsedAt,
})

export function createKeysApi(opts: {
  store: AccountStore
  credentials: AccountCredentials
  origins: readonly string[]
  maxBodyBytes: number
  /** The person's role on a session (for a scoped key: no higher than theirs). */
  roleOn(user: UserRow, sessionId: string): Promise<string | null>
}): (req: Request) => Promise<Response> {
  const signedIn = async (req: Request): Promise<UserRow> => {
    const user = await opts.credentials.userOfCookie(req)
    if (!user) throw new HttpError(401, 'API keys are managed by a signed-in person (sign-in cookie); a key or token cannot', 'cookie')
    requireSameOrigin(req, [...opts.origins, new URL(req.url).origin])
    return user
  }
  return async (req) => {
    try {
      const url = new URL(req.url)
      const rest = url.pathname.slice(KEYS_PATH.length).split('/').filter(Boolean)
      if (rest.length === 0) {
        if (req.method === 'GET') return json({ keys: (await opts.store.keysOf((await signedIn(req)).id)).map(view) })
        if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'GET, POST' })
        const user = await signedIn(req)
        const input = parseWith(createKeySchema, (await readJsonBody(req, opts.maxBodyBytes)) ?? {})
        if (input.sessionId !== undefined) {
          const role = await opts.roleOn(user, input.sessionId)
          if (!role) throw new HttpError(403, `you have no role on session ${input.sessionId}`, 'sessionId')
          if (role === 'viewer' && input.role === 'collaborator') throw new HttpError(403, 'a key cannot have more rights than you: you are a viewer there', 'role')
        }
        const key = `${API_KEY_PREFIX}${randomSecret()}`
        const row = await opts.store.addKey({
          id: newId('key'),
          userId: user.id,
          name: input.name,
          keyHash: sha256(key),
          prefix: key.slice(0, 8),
          sessionId: input.sessionId ?? null,
          role: input.role ?? null,
        }, MAX_KEYS_PER_USER)
        // The cap is checked in the store, in one step with the insert (two requests cannot both pass it).
        if (!row) throw new HttpError(409, `at most ${MAX_KEYS_PER_USER} keys per person: revoke one first`)
        return json({ key, ...view(row) }, 201)
      }
      if (rest.length === 1) {
        if (req.method !== 'DELETE') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'DELETE' })
        const user = await signedIn(req)
        if (!(await opts.store.removeKey(user.id, decodeURIComponent(rest[0]!)))) throw new HttpError(404, 'you have no key with that id', 'id')
        return new Response(null, { status: 204 })
      }
      throw new HttpError(404, 'no such keys endpoint')
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      if (err instanceof URIError) return errorResponse(new HttpError(400, 'path is not valid percent-encoding', 'path'))
      throw err
    }
  }
}
