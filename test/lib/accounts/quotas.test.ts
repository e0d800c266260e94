/**
 * Per-user quotas (issue #11, bar 4), through the whole app with sign-in on: a real OpenID
 * provider on loopback, a real SQLite file. People sign in and create sessions with their cookie;
 * the admin uses an admin token.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_LIMITS } from '../../../src/lib/accounts/quotas-config'
import { createTetherServer } from '../../../src/lib/tether-server'
import { LIFECYCLE_STREAM } from '../../../src/lib/ops/lifecycle'
import { body, signIn } from './support'
import { startWithLimits, userIdOf, withToken, type QuotaHarness } from './quotas-support'

type Refusal = { ok: false; error: string; reason: string; quota?: { name: string; limit: number; used: number } }
type Created = { session: { id: string; createdBy: string } }

let h: QuotaHarness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const lifecycleQuotaEvents = async (app: QuotaHarness) => {
  const res = await withToken(app, app.adminToken, `/api/streams/${LIFECYCLE_STREAM}?offset=-1`)
  const events = (await res.json()) as { type: string; data: Record<string, unknown> }[]
  return events.filter((e) => e.type === 'quota.exceeded').map((e) => e.data)
}

describe('per-user quotas', () => {
  it('bar 4: the (N+1)th concurrent session is refused with its reason, and allowed again once one ends', async () => {
    h = await startWithLimits({ quotas: { concurrentSessions: 2 } })
    const alice = await signIn(h, 'alice')
    const aliceId = await userIdOf(alice)
    const ids: string[] = []
    for (const title of ['one', 'two']) {
      const res = await alice.request('/api/sessions', { json: { title } })
      expect(res.status).toBe(201)
      ids.push((await body<Created>(res)).session.id)
    }
    const third = await alice.request('/api/sessions', { json: { title: 'three' } })
    expect(third.status).toBe(403)
    expect(third.headers.get('retry-after')).toBeNull()
    const refusal = await body<Refusal>(third)
    expect(refusal.reason).toBe('quota:concurrent-sessions')
    expect(refusal.error).toBe('concurrent sessions quota reached: 2 of 2 running; end one of your sessions to start another')
    expect(refusal.quota).toEqual({ name: 'concurrentSessions', limit: 2, used: 2 })
    // Another person has their own count.
    const bob = await signIn(h, 'bob')
    expect((await bob.request('/api/sessions', { json: { title: 'bob' } })).status).toBe(201)
    // The admin token is not a person: never limited.
    for (let i = 0; i < 3; i++) expect((await withToken(h, h.adminToken, '/api/sessions', { json: {} })).status).toBe(201)

    expect((await withToken(h, h.adminToken, `/api/sessions/${ids[0]}/terminate`, { json: {} })).status).toBe(200)
    const again = await alice.request('/api/sessions', { json: { title: 'three, later' } })
    expect(again.status).toBe(201)
    expect((await body<Created>(again)).session.createdBy).toBe(aliceId)

    const usage = await body<{ usage: Record<string, number>; limits: Record<string, number | null> }>(await alice.request('/api/users/me/quotas'))
    expect(usage.usage.concurrentSessions).toBe(2)
    expect(usage.usage.sessionsPerDay).toBe(3)
    expect(usage.limits).toEqual({ concurrentSessions: 2, sessionsPerDay: null, monthlySpendUsd: null })
    const events = await lifecycleQuotaEvents(h)
    expect(events).toEqual([{ reason: 'quota:concurrent-sessions', userId: aliceId, quota: 'concurrentSessions', limit: 2, used: 2 }])
  })

  it('concurrent creations cannot both take the last slot', async () => {
    h = await startWithLimits({ quotas: { concurrentSessions: 1 } })
    const alice = await signIn(h, 'alice')
    const answers = await Promise.all([1, 2, 3, 4].map((n) => alice.request('/api/sessions', { json: { title: `race ${n}` } })))
    expect(answers.map((r) => r.status).sort()).toEqual([201, 403, 403, 403])
  })

  it('the daily quota counts sessions started since 00:00 UTC (deleted ones too), answers 429 with Retry-After to midnight, and an admin override lifts it', async () => {
    const today = new Date()
    const elevenPm = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), 23, 0, 0)
    h = await startWithLimits({ quotas: { sessionsPerDay: 2 }, now: elevenPm })
    const alice = await signIn(h, 'alice')
    const aliceId = await userIdOf(alice)
    const first = (await body<Created>(await alice.request('/api/sessions', { json: {} }))).session.id
    expect((await alice.request('/api/sessions', { json: {} })).status).toBe(201)
    // Deleting a session gives no start back.
    expect((await withToken(h, h.adminToken, `/api/sessions/${first}`, { method: 'DELETE' })).status).toBe(204)
    const refused = await alice.request('/api/sessions', { json: {} })
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('3600')
    const r = await body<Refusal>(refused)
    expect(r.reason).toBe('quota:sessions-per-day')
    expect(r.error).toBe('daily sessions quota reached: 2 of 2 started today (UTC); try again after 00:00 UTC')

    // An admin raises Alice's own limit; the other quotas keep their defaults.
    const put = await withToken(h, h.adminToken, `/api/users/${aliceId}/quotas`, { method: 'PUT', json: { sessionsPerDay: 3 } })
    expect(put.status).toBe(200)
    expect((await body<{ limits: Record<string, number | null> }>(put)).limits).toEqual({ concurrentSessions: null, sessionsPerDay: 3, monthlySpendUsd: null })
    expect((await alice.request('/api/sessions', { json: {} })).status).toBe(201)
    expect((await alice.request('/api/sessions', { json: {} })).status).toBe(429)

    // After midnight UTC the count starts again.
    h.clock.now = elevenPm + 3_600_000
    expect((await alice.request('/api/sessions', { json: {} })).status).toBe(201)
    // null = unlimited for this person; a key left out = the default again.
    await withToken(h, h.adminToken, `/api/users/${aliceId}/quotas`, { method: 'PUT', json: { sessionsPerDay: null } })
    for (let i = 0; i < 4; i++) expect((await alice.request('/api/sessions', { json: {} })).status).toBe(201)
    await withToken(h, h.adminToken, `/api/users/${aliceId}/quotas`, { method: 'PUT', json: {} })
    expect((await alice.request('/api/sessions', { json: {} })).status).toBe(429)
  })

  it('monthly spend: past it a model call gets 402 quota:monthly-spend before any provider call, and new sessions 403', async () => {
    h = await startWithLimits({ quotas: { monthlySpendUsd: 0.000004 } })
    const alice = await signIn(h, 'alice')
    const created = await alice.request('/api/sessions', { json: { agent: { model: 'echo' } } })
    expect(created.status).toBe(201)
    const id = (await body<Created>(created)).session.id
    const worker = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'agent' })
    const step = { model: 'echo', system: 'be brief', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello there' }] }], tools: [], maxTokens: 50 }
    // The first call is under the quota ($0 spent) and costs more than $0.000004 (echo: $1 per million tokens).
    const first = await withToken(h, worker, `/api/sessions/${id}/model`, { json: step })
    expect(first.status).toBe(200)
    await first.text()
    expect((await h.app.ledger.totals(id)).costUsd).toBeGreaterThan(0.000004)
    const second = await withToken(h, worker, `/api/sessions/${id}/model`, { json: step })
    expect(second.status).toBe(402)
    const r = await body<Refusal>(second)
    expect(r.reason).toBe('quota:monthly-spend')
    expect(r.error).toMatch(/^monthly spend quota reached: \$0\.\d+ of \$0\.000004 this month \(UTC\)/)
    const calls = h.app.streams?.sqlite.prepare('select status from model_calls where session_id = ? order by id').all(id) as { status: string }[]
    expect(calls.map((c) => c.status)).toEqual(['ok', 'refused'])

    const refusedSession = await alice.request('/api/sessions', { json: {} })
    expect(refusedSession.status).toBe(403)
    expect((await body<Refusal>(refusedSession)).reason).toBe('quota:monthly-spend')
    const events = await lifecycleQuotaEvents(h)
    expect(events.map((e) => e.reason)).toEqual(['quota:monthly-spend', 'quota:monthly-spend'])
  })

  it('a fork starts a session: an admin person over their quota is refused before the fork runs; an admin token is not a person', async () => {
    h = await startWithLimits({ quotas: { concurrentSessions: 1 } })
    const root = await signIn(h, 'root')
    const id = (await body<Created>(await root.request('/api/sessions', { json: { title: 'source' } }))).session.id
    const fork = await root.request(`/api/sessions/${id}/fork`, { json: { turn: 1 } })
    expect(fork.status).toBe(403)
    expect((await body<Refusal>(fork)).reason).toBe('quota:concurrent-sessions')
    // The admin token reaches the fork itself (which refuses a turn that never happened, for its own reason).
    const byToken = await withToken(h, h.adminToken, `/api/sessions/${id}/fork`, { json: { turn: 1 } })
    expect(byToken.status).not.toBe(403)
    expect((await body<{ reason?: string }>(byToken)).reason).toBeUndefined()
  })

  it('with sign-in off there are no quotas: tokens are never limited and /api/users is 404', async () => {
    const app = createTetherServer({
      dataDir: mkdtempSync(join(tmpdir(), 'tether-quotas-off-')),
      sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
      logger: pino({ level: 'silent' }),
      sweepIntervalMs: 0,
      limits: { ...DEFAULT_LIMITS, quotas: { concurrentSessions: 1, sessionsPerDay: 1, monthlySpendUsd: 0.000001 } },
    })
    try {
      const admin = await app.issueToken({ role: 'admin', subject: 'someone' })
      const req = (path: string, method = 'GET') =>
        app.fetch(new Request(`http://tether.test${path}`, { method, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) }))
      for (let i = 0; i < 3; i++) expect((await req('/api/sessions', 'POST')).status).toBe(201)
      const off = await req('/api/users/me/quotas')
      expect(off.status).toBe(404)
      expect(((await off.json()) as { error: string }).error).toBe('sign-in is not configured on this server (no identity provider)')
    } finally {
      await app.close()
    }
  })
})
