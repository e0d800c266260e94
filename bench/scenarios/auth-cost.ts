/**
 * What a person's credential costs per request (issue #11), CPU-bound so a shared machine hurts
 * it least: microseconds of `authenticate()` for a session-scoped request carrying a JWT token
 * (verified once, then cached), the sign-in cookie (SHA-256 + the sign-in, owner and member
 * lookups in SQLite, every request: sign-out and revocation are immediate) and a personal API key.
 * One in-process app with a real SQLite file; the best of 5 alternating rounds each way.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { sha256 } from '../../src/lib/accounts/cookies'
import { createTetherServer } from '../../src/lib/tether-server'
import { now } from '../stats'
import type { Scenario } from './types'

export const authCost: Scenario = {
  id: 'auth-cost',
  title: 'authenticate() per request: token vs sign-in cookie vs API key (µs, in process)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'token', label: 'JWT token (cached)', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'cookie', label: 'sign-in cookie', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'key', label: 'personal API key', unit: 'µs', better: 'lower', digits: 1 },
  ],
  async run({ quick, log }) {
    const app = createTetherServer({
      dataDir: mkdtempSync(join(tmpdir(), 'tether-bench-auth-')),
      logger: pino({ level: 'silent' }),
      publicUrl: 'http://bench.test',
      sessions: { auth: true, secret: 'bench-secret-for-auth-cost-0001', monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 1, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
      // Discovery is lazy: a provider that is never contacted turns accounts on.
      accounts: { providers: { oidc: { issuer: 'http://127.0.0.1:9', clientId: 'bench', clientSecret: 'bench' } }, adminEmails: [], signInTtlMs: 86_400_000 },
    })
    try {
      const { store } = app.accounts
      const user = await store.upsertUser({ provider: 'oidc', subject: 'bench', email: 'b@bench.test', emailVerified: true, name: 'Bench' })
      await store.addSignIn(sha256('cookie-value-for-the-bench'), user.id, 86_400_000)
      const admin = await app.issueToken({ role: 'admin' })
      const created = await app.fetch(
        new Request('http://bench.test/api/sessions', { method: 'POST', headers: { authorization: `Bearer ${admin}` }, body: '{}' }),
      )
      const sid = ((await created.json()) as { session: { id: string } }).session.id
      await store.setMember(sid, user.id, 'collaborator', 'bench')
      await store.addKey({ id: 'key_bench', userId: user.id, name: 'bench', keyHash: sha256('tk_bench-key'), prefix: 'tk_bench', sessionId: null, role: null }, 1)
      const token = await app.issueToken({ role: 'collaborator', sessionId: sid, subject: user.id })
      const url = `http://bench.test/api/streams?sessionId=${sid}`
      const requests = {
        token: new Request(url, { headers: { authorization: `Bearer ${token}` } }),
        cookie: new Request(url, { headers: { cookie: 'tether_signin=cookie-value-for-the-bench' } }),
        key: new Request(url, { headers: { authorization: 'Bearer tk_bench-key' } }),
      }
      const n = quick ? 2_000 : 20_000
      const best: Record<string, number> = { token: Number.POSITIVE_INFINITY, cookie: Number.POSITIVE_INFINITY, key: Number.POSITIVE_INFINITY }
      for (let round = 0; round < 5; round++) {
        for (const [kind, req] of Object.entries(requests)) {
          const claims = await app.auth.authenticate(req)
          if (claims.sid !== sid) throw new Error(`${kind}: claims for ${claims.sid}, not ${sid}`)
          const t0 = now()
          for (let i = 0; i < n; i++) await app.auth.authenticate(req)
          best[kind] = Math.min(best[kind] as number, ((now() - t0) * 1000) / n)
        }
      }
      log(`auth-cost: token ${best.token?.toFixed(1)} µs, cookie ${best.cookie?.toFixed(1)} µs, key ${best.key?.toFixed(1)} µs`)
      return best
    } finally {
      await app.close()
    }
  },
}
