/**
 * A person's quotas over HTTP (specs/accounts.md, "Quotas and rate limits"):
 *   GET /api/users/:id/quotas   limits in force, the defaults, the admin's overrides and usage now
 *                               (an admin of all sessions, or the person themself; `me` = the caller)
 *   PUT /api/users/:id/quotas   { concurrentSessions?, sessionsPerDay?, monthlySpendUsd? } (admin only):
 *                               a number sets the limit, null makes it unlimited, a key left out
 *                               falls back to the server's default (the body replaces all overrides)
 * 404 with no identity provider (quotas are about accounts; off means off).
 */
import { z } from 'zod'
import type { Authenticator } from '../sessions/auth'
import { HttpError, errorResponse, isAnswerable, json, parseWith, readJsonBody } from '../sessions/http'
import { ALL_SESSIONS, type TokenClaims } from '../sessions/tokens'
import { dayStart, monthStart, QUOTA_NAMES, type QuotaOverrides, type QuotaStore } from './quotas-store'

export const USERS_PATH = '/api/users'
/** Largest quota body: three numbers. */
const MAX_BODY_BYTES = 4096

const count = z.number().int().min(0).max(1_000_000).nullable().optional()
const overridesSchema = z
  .object({ concurrentSessions: count, sessionsPerDay: count, monthlySpendUsd: z.number().min(0).max(1_000_000_000).nullable().optional() })
  .strict()

export function createQuotasApi(opts: {
  store: QuotaStore
  auth: Authenticator
  enabled: () => boolean
  userExists(id: string): boolean | Promise<boolean>
  now: () => number
  /** An admin changed someone's quotas (audit `quota.change`); never throws. */
  onChange?(claims: TokenClaims, userId: string, overrides: QuotaOverrides): Promise<void>
}): (req: Request) => Promise<Response> {
  const isAdmin = (c: TokenClaims) => c.role === 'admin' && c.sid === ALL_SESSIONS

  const view = async (userId: string) => {
    const at = opts.now()
    const next = new Date(monthStart(at))
    next.setUTCMonth(next.getUTCMonth() + 1)
    return {
      userId,
      limits: await opts.store.limitsOf(userId),
      defaults: opts.store.defaultLimits(),
      overrides: await opts.store.overrides(userId),
      usage: await opts.store.usageOf(userId, at),
      resets: { sessionsPerDay: new Date(dayStart(at) + 86_400_000).toISOString(), monthlySpendUsd: next.toISOString() },
    }
  }

  return async (req) => {
    try {
      if (!opts.enabled()) throw new HttpError(404, 'sign-in is not configured on this server (no identity provider)')
      const segs = new URL(req.url).pathname.slice(USERS_PATH.length).split('/').filter(Boolean)
      if (segs.length !== 2 || segs[1] !== 'quotas') throw new HttpError(404, 'no such users endpoint')
      const claims = await opts.auth.authenticate(req)
      let id: string
      try {
        id = decodeURIComponent(segs[0])
      } catch {
        throw new HttpError(400, 'path is not valid percent-encoding', 'path')
      }
      if (id === 'me') {
        if (!claims.account) throw new HttpError(403, '`me` needs a signed-in person (sign-in cookie or personal key)', 'token')
        id = claims.account
      }
      if (req.method === 'GET') {
        if (!isAdmin(claims) && claims.account !== id) throw new HttpError(403, "only an admin or the person themself may read a person's quotas", 'token')
        if (!(await opts.userExists(id))) throw new HttpError(404, `unknown user ${id}`, 'id')
        return json(await view(id))
      }
      if (req.method === 'PUT') {
        if (!isAdmin(claims)) throw new HttpError(403, 'only an admin may set quotas', 'token')
        if (!(await opts.userExists(id))) throw new HttpError(404, `unknown user ${id}`, 'id')
        const input = parseWith(overridesSchema, (await readJsonBody(req, MAX_BODY_BYTES)) ?? {})
        const overrides: QuotaOverrides = {}
        for (const name of QUOTA_NAMES) if (input[name] !== undefined) overrides[name] = input[name]
        await opts.store.setOverrides(id, overrides, claims.sub ?? 'admin')
        await opts.onChange?.(claims, id, overrides)
        return json(await view(id))
      }
      throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'GET, PUT' })
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }
}
