/**
 * An app with sign-in on (a real OpenID provider on loopback, a real SQLite file in a temp dir)
 * and the quotas and rate limits a test asks for, with a clock the test can move.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { DEFAULT_LIMITS, type LimitsConfig } from '../../../src/lib/accounts/quotas-config'
import type { QuotaLimits } from '../../../src/lib/accounts/quotas-store'
import type { RateLimitConfig } from '../../../src/lib/ops/rate-limit'
import { createTetherServer } from '../../../src/lib/tether-server'
import { startIdentityProvider } from './identity-provider'
import { APP, PEOPLE, body, type AccountsHarness, type TestBrowser } from './support'

export interface QuotaHarness extends AccountsHarness {
  /** The app's clock (epoch ms); tests move it. */
  clock: { now: number }
}

export async function startWithLimits(opts: { quotas?: Partial<QuotaLimits>; rates?: Partial<RateLimitConfig>; now?: number } = {}): Promise<QuotaHarness> {
  const idp = await startIdentityProvider({ redirectUris: [`${APP}/api/auth/callback`], people: PEOPLE })
  const clock = { now: opts.now ?? Date.now() }
  const limits: LimitsConfig = {
    quotas: { ...DEFAULT_LIMITS.quotas, ...opts.quotas },
    rateLimits: { ...DEFAULT_LIMITS.rateLimits, ...opts.rates },
  }
  const app = createTetherServer({
    dataDir: mkdtempSync(join(tmpdir(), 'tether-quotas-')),
    sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {}, publicUrl: APP },
    publicUrl: APP,
    logger: pino({ level: 'silent' }),
    sweepIntervalMs: 0,
    now: () => clock.now,
    limits,
    accounts: {
      providers: { oidc: { issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret } },
      adminEmails: ['root@example.test'],
      signInTtlMs: 86_400_000,
    },
  })
  const adminToken = await app.issueToken({ role: 'admin' })
  return {
    app,
    idp,
    adminToken,
    clock,
    async close() {
      await app.close()
      await idp.close()
    },
  }
}

export const userIdOf = async (b: TestBrowser) => (await body<{ user: { id: string } }>(await b.request('/api/auth/me'))).user.id

/** A request with a bearer token (no cookie). */
export const withToken = (h: AccountsHarness, token: string, path: string, init: { method?: string; json?: unknown } = {}) =>
  h.app.fetch(
    new Request(`${APP}${path}`, {
      method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    }),
  )
