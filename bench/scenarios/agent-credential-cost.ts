/**
 * What a personal agent's own API key costs (issue #11; specs/accounts.md, Personal agents):
 * microseconds of the gateway's `providerEnvFor` per model call (a prepared profile lookup and
 * one AES-256-GCM decrypt), and of setting a credential (seal + UPDATE of the row, durable).
 * One in-process app with a real SQLite file, 200 profiles of 20 people; best of 5 rounds.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { MAX_PROFILES_PER_USER } from '../../src/lib/accounts/profile-store'
import type { SessionRecord } from '../../src/lib/sessions/session-types'
import { createTetherServer } from '../../src/lib/tether-server'
import { now } from '../stats'
import type { Scenario } from './types'

export const agentCredentialCost: Scenario = {
  id: 'agent-credential-cost',
  title: "a personal agent's API key: per model call and per change (µs, in process)",
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'call', label: 'providerEnvFor per call', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'set', label: 'set a credential', unit: 'µs', better: 'lower', digits: 1 },
  ],
  async run({ quick, log }) {
    const app = createTetherServer({
      dataDir: mkdtempSync(join(tmpdir(), 'tether-bench-agent-cred-')),
      logger: pino({ level: 'silent' }),
      publicUrl: 'http://bench.test',
      sessions: { auth: true, secret: 'bench-secret-for-agent-credential', monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 1, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
      // Discovery is lazy: a provider that is never contacted turns accounts on.
      accounts: { providers: { oidc: { issuer: 'http://127.0.0.1:9', clientId: 'bench', clientSecret: 'bench' } }, adminEmails: [], signInTtlMs: 86_400_000 },
    })
    try {
      const { profiles } = app.accounts
      for (let i = 0; i < 200; i++) await profiles.insert(`user_${i % 20}`, { name: `p${i}`, adapter: 'tether', provider: 'anthropic', credential: `sk-ant-bench-${i}-${'x'.repeat(90)}` }, MAX_PROFILES_PER_USER)
      const p = await profiles.insert('user_0', { name: 'bench', adapter: 'tether', provider: 'anthropic', credential: `sk-ant-bench-${'y'.repeat(100)}` }, MAX_PROFILES_PER_USER)
      if (!p) throw new Error('the bench profile was refused')
      const session = { agents: [{ id: 'agent', name: 'a', profileId: p.id, limits: { maxBudgetUsd: null, maxTurns: null } }] } as unknown as SessionRecord
      const env = await app.accounts.providerEnvFor(session, 'agent')
      if (!env?.ANTHROPIC_API_KEY) throw new Error('providerEnvFor gave no key')
      const n = quick ? 1_000 : 10_000
      const sets = quick ? 200 : 2_000
      const best = { call: Number.POSITIVE_INFINITY, set: Number.POSITIVE_INFINITY }
      for (let round = 0; round < 5; round++) {
        let t0 = now()
        for (let i = 0; i < n; i++) await app.accounts.providerEnvFor(session, 'agent')
        best.call = Math.min(best.call, ((now() - t0) * 1000) / n)
        t0 = now()
        for (let i = 0; i < sets; i++) await profiles.update(p.id, { credential: `sk-ant-bench-${round}-${i}-${'z'.repeat(80)}` })
        best.set = Math.min(best.set, ((now() - t0) * 1000) / sets)
      }
      log(`agent-credential-cost: providerEnvFor ${best.call.toFixed(1)} µs a call, set ${best.set.toFixed(1)} µs`)
      return best
    } finally {
      await app.close()
    }
  },
}
