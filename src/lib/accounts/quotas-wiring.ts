/**
 * Quotas and rate limits put together for the composition root (tether-server.ts), so it only
 * hands the pieces to the handlers that check them: the rate check (sessions API, writer,
 * protocol gate), the quota checks (sessions API create / fork, the gateway's `spendLimit`) and
 * the /api/users/:id/quotas handler. Quotas exist only with sign-in on (they are about accounts);
 * rate limits apply with or without it.
 */
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { createRateLimits, type RateCheck } from '../ops/rate-limit'
import type { AuditLog } from '../ops/audit'
import type { LifecycleLog } from '../ops/lifecycle'
import type { Authenticator } from '../sessions/auth'
import type { SessionRecord } from '../sessions/session-types'
import type { Accounts } from './index'
import { DEFAULT_LIMITS, type LimitsConfig } from './quotas-config'
import type { SpendLimit } from '../gateway/core'
import { createQuotaChecks, type QuotaChecks } from './quotas'
import { createQuotasApi, USERS_PATH } from './quotas-api'
import type { QuotaStore } from './quotas-store'

export type { LimitsConfig } from './quotas-config'

export interface Limits {
  rate: RateCheck
  /** Null with sign-in off: nobody is a person, nothing is limited by quota. */
  quotas: QuotaChecks | null
  /** The gateway hook (ModelGatewayOptions.spendLimit). */
  spendLimit(session: SessionRecord): Promise<SpendLimit | null>
  owns(pathname: string): boolean
  handle(req: Request): Promise<Response>
}

export function createLimits(opts: {
  /** Quota overrides and usage (either engine). */
  store: QuotaStore
  /** Rate-limit counters shared by every node (PostgreSQL); absent: counted in this process. */
  rateLimitDb?: PostgresJsDatabase
  auth: Authenticator
  accounts: Accounts
  ops: { lifecycle: LifecycleLog; audit: AuditLog }
  config?: LimitsConfig
  now: () => number
}): Limits {
  const config = opts.config ?? DEFAULT_LIMITS
  const { store } = opts
  const { accounts } = opts
  const quotas = accounts.enabled
    ? createQuotaChecks({
        store,
        now: opts.now,
        isPerson: async (id) => (await accounts.store.user(id)) !== null,
        onExceeded: (userId, data) => void opts.ops.lifecycle.record('quota.exceeded', null, { ...data, userId }),
      })
    : null
  const api = createQuotasApi({
    store,
    auth: opts.auth,
    enabled: () => accounts.enabled,
    userExists: async (id) => (await accounts.store.user(id)) !== null,
    now: opts.now,
    onChange: (claims, userId, overrides) =>
      opts.ops.audit.record({ actor: { sub: claims.sub ?? null, role: claims.role }, action: 'quota.change', target: userId, outcome: 'ok', status: 200, detail: { quotas: overrides } }),
  })
  return {
    rate: createRateLimits(config.rateLimits, opts.rateLimitDb ? { db: opts.rateLimitDb } : undefined),
    quotas,
    spendLimit: async (session) => (quotas ? quotas.spendLimit(session) : null),
    owns: (p) => p.startsWith(`${USERS_PATH}/`),
    handle: api,
  }
}
