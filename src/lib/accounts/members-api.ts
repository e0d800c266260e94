/**
 * People invited to a session by account, in the sessions API (specs/accounts.md):
 *   GET    /api/sessions/:id/members            owner and members (collaborators, admins; emails for the owner and admins)
 *   POST   /api/sessions/:id/members            { email | userId, role: viewer|collaborator } (the owner or an admin)
 *   DELETE /api/sessions/:id/members/:userId    revoke (the owner or an admin; a member may leave) → 204
 * A member's sign-in cookie (or key) then covers the session with that role; removal takes effect
 * on their next request (claims are made per request: credentials.ts).
 */
import { z } from 'zod'
import { isOwnerOrAdmin, requireSession } from '../sessions/auth'
import { HttpError, json, parseWith } from '../sessions/http'
import type { TokenClaims } from '../sessions/tokens'
import type { AccountStore } from './account-store'

const inviteSchema = z
  .object({
    email: z.string().trim().min(3).max(320).optional(),
    userId: z.string().min(1).max(200).optional(),
    role: z.enum(['viewer', 'collaborator']),
  })
  .strict()
  .refine((b) => (b.email === undefined) !== (b.userId === undefined), { message: 'give exactly one of email and userId', path: ['email'] })

export interface MembersDeps {
  store: AccountStore
  body(req: Request): Promise<unknown>
}

/** Answers the `members` sub-resource of session `id`; null when `segments` is not one. */
export async function membersRoute(deps: MembersDeps, req: Request, claims: TokenClaims, id: string, segments: string[]): Promise<Response | null> {
  if (segments[1] !== 'members' || segments.length > 3) return null
  const { store } = deps
  requireSession(claims, id, ['viewer', 'collaborator', 'admin'])
  const owner = await store.ownerOf(id)
  if (owner === undefined) throw new HttpError(404, `unknown session ${id}`, 'id')
  const manage = isOwnerOrAdmin(claims, id, owner)
  const notAllowed = (allow: string) => new HttpError(405, `method ${req.method} not allowed`, undefined, { allow })
  const mustManage = () => {
    if (!manage) throw new HttpError(403, "only the session's owner or an admin may invite or remove people", 'token')
  }

  if (segments.length === 2) {
    if (req.method === 'GET') {
      requireSession(claims, id, ['collaborator', 'admin'])
      const ownerUser = owner ? await store.user(owner) : null
      return json({
        owner: ownerUser ? { userId: ownerUser.id, name: ownerUser.name } : owner ? { userId: owner, name: null } : null,
        members: (await store.members(id)).map((m) => ({ userId: m.userId, name: m.name, role: m.role, addedBy: m.addedBy, createdAt: m.createdAt, ...(manage ? { email: m.email } : {}) })),
      })
    }
    if (req.method === 'POST') {
      mustManage()
      const input = parseWith(inviteSchema, await deps.body(req))
      const user = await (input.email !== undefined ? store.userByVerifiedEmail(input.email) : store.user(input.userId as string))
      if (!user) {
        throw new HttpError(404, 'no one with that account has signed in here (a verified email, or a user id): they sign in once first', input.email !== undefined ? 'email' : 'userId')
      }
      if (user.id === owner) throw new HttpError(400, 'the owner already has the session', 'userId')
      const row = await store.setMember(id, user.id, input.role, claims.sub ?? claims.role)
      return json({ member: { userId: user.id, name: user.name, role: row.role, addedBy: row.addedBy, createdAt: row.createdAt } }, 201)
    }
    throw notAllowed('GET, POST')
  }

  const userId = segments[2] as string
  if (req.method !== 'DELETE') throw notAllowed('DELETE')
  // Leaving is always allowed: a member can end their own access.
  if (!(manage || (claims.sub === userId && claims.account === userId))) mustManage()
  if (!(await store.removeMember(id, userId))) throw new HttpError(404, `${userId} is not a member of session ${id}`, 'userId')
  return new Response(null, { status: 204 })
}
