/**
 * GET /api/sessions/stats/summary on the whole app (real SQLite file, real HTTP on loopback):
 * sessions created through the API over two days of a fake clock, a worker's agent-state with a
 * restart count written through the writer, model calls in the gateway's real ledger, a
 * terminated and a failed session; every figure of the answer checked, bad queries 400 with a
 * reason, every role but an all-sessions admin refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatsSummary } from '../../../src/lib/ops/stats-summary-types'
import { createSession, fakeClock, startHarness, write, type Harness } from '../sessions/harness'

const HOUR = 3_600_000
const DAY = 24 * HOUR
/** Midnight UTC, so day buckets start at T0, T0 + DAY, ... */
const T0 = Date.UTC(2031, 0, 6)

let h: Harness
const ids: Record<'s1' | 's2' | 's3' | 's4', string> = { s1: '', s2: '', s3: '', s4: '' }

async function summary(query: string, token: string | null = h.adminToken): Promise<Response> {
  return h.request(`/api/sessions/stats/summary${query}`, { token })
}

async function ok(query: string): Promise<StatsSummary> {
  const res = await summary(query)
  expect(res.status, await res.clone().text()).toBe(200)
  return (await res.json()) as StatsSummary
}

/** A settled model call in the app's ledger (the gateway's own reserve → settle path). */
function call(sessionId: string, model: string, s: { status: 'ok' | 'error'; inputTokens: number; outputTokens: number; costUsd: number }) {
  const r = h.app.ledger.reserve(sessionId, model, 2, null)
  if (!r.ok) throw new Error('reserve refused')
  h.app.ledger.settle(r.callId, s)
}

beforeAll(async () => {
  h = await startHarness('builtin', { clock: fakeClock(T0 + HOUR) })
  // Day 1: three sessions (two with an agent), by two admins.
  ids.s1 = await createSession(h, { pattern: 'long-running', agent: { model: 'echo' } })
  ids.s2 = await createSession(h, { pattern: 'ephemeral' })
  const bob = await h.app.issueToken({ role: 'admin', subject: 'bob' })
  const res = await h.request('/api/sessions', { token: bob, json: { pattern: 'hybrid', agent: { model: 'echo' } } })
  ids.s3 = ((await res.json()) as { session: { id: string } }).session.id
  // s1's worker crashed twice: its agent-state says so (src/worker/worker.ts writes `restarts`).
  const worker = await h.app.issueToken({ role: 'worker', sessionId: ids.s1, subject: 'agent' })
  const state = (restarts: number, status: string) => ({
    channel: 'agent-state',
    data: { agentId: 'agent', status, tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, restarts, lastHeartbeat: h.clock.now() },
  })
  await write(h, ids.s1, state(1, 'starting'), worker)
  await write(h, ids.s1, state(2, 'idle'), worker)
  call(ids.s1, 'anthropic:claude-haiku-4-5', { status: 'ok', inputTokens: 100, outputTokens: 50, costUsd: 0.25 })
  call(ids.s1, 'openai:gpt-4o-mini', { status: 'error', inputTokens: 10, outputTokens: 0, costUsd: 0.01 })
  call(ids.s3, 'anthropic:claude-haiku-4-5', { status: 'ok', inputTokens: 1000, outputTokens: 500, costUsd: 1 })
  h.app.ledger.refuse(ids.s3, 'anthropic:claude-haiku-4-5', 5, 'over budget')
  // Day 2: s2 terminated, s4 created and failed.
  h.clock.advance(DAY)
  expect((await h.request(`/api/sessions/${ids.s2}/terminate`, { method: 'POST', token: h.adminToken, json: {} })).status).toBe(200)
  ids.s4 = await createSession(h, { pattern: 'long-running' })
  await h.app.manager.end(ids.s4, 'failed', 'failed')
  h.clock.advance(DAY)
})

afterAll(async () => {
  await h?.close()
})

describe('GET /api/sessions/stats/summary', () => {
  it('counts sessions over time by status and pattern, and who is live at each bucket end', async () => {
    const s = await ok(`?from=${T0}&to=${T0 + 3 * DAY}&bucket=day`)
    expect(s.range).toEqual({ from: T0, to: T0 + 3 * DAY, bucket: 'day' })
    expect(s.generatedAt).toBe(h.clock.now())
    expect(s.sessions.now).toEqual({ total: 4, active: 2, idle: 0 })
    expect(s.sessions.created).toBe(4)
    expect(s.sessions.byStatus).toEqual({ active: 2, idle: 0, completed: 0, failed: 1, terminated: 1 })
    expect(s.sessions.byPattern).toEqual({ ephemeral: 1, 'long-running': 2, hybrid: 1, 'single-container': 0 })
    expect(s.sessions.ended).toBe(2)
    expect(s.sessions.endedByReason).toEqual([
      { reason: 'failed', count: 1 },
      { reason: 'terminated', count: 1 },
    ])
    expect(s.series.map((p) => p.t)).toEqual([T0, T0 + DAY, T0 + 2 * DAY])
    expect(s.series.map((p) => p.created)).toEqual([3, 1, 0])
    expect(s.series[0].createdByPattern).toEqual({ ephemeral: 1, 'long-running': 1, hybrid: 1, 'single-container': 0 })
    expect(s.series.map((p) => p.ended)).toEqual([0, 2, 0])
    expect(s.series[1].endedByStatus).toEqual({ completed: 0, failed: 1, terminated: 1 })
    expect(s.series.map((p) => p.live)).toEqual([3, 2, 2])
    expect(s.workers).toEqual({ active: 2, source: 'sessions' })
  })

  it('sums tokens and cost per bucket, per model, per user and per session from the ledger', async () => {
    const s = await ok(`?from=${new Date(T0).toISOString()}&to=${new Date(T0 + 3 * DAY).toISOString()}`)
    // The refused call reached no provider: not a call, no cost.
    expect({ calls: s.usage.calls, tokensIn: s.usage.tokensIn, tokensOut: s.usage.tokensOut, costUsd: s.usage.costUsd }).toEqual({
      calls: 3,
      tokensIn: 1110,
      tokensOut: 550,
      costUsd: 1.26,
    })
    expect(s.series.map((p) => [p.calls, p.tokensIn, p.tokensOut, p.costUsd])).toEqual([
      [3, 1110, 550, 1.26],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ])
    expect(s.usage.byModel).toEqual([
      { key: 'anthropic:claude-haiku-4-5', calls: 2, tokensIn: 1100, tokensOut: 550, costUsd: 1.25 },
      { key: 'openai:gpt-4o-mini', calls: 1, tokensIn: 10, tokensOut: 0, costUsd: 0.01 },
    ])
    expect(s.usage.byUser).toEqual([
      { key: 'bob', calls: 1, tokensIn: 1000, tokensOut: 500, costUsd: 1 },
      { key: 'admin-user', calls: 2, tokensIn: 110, tokensOut: 50, costUsd: 0.26 },
    ])
    expect(s.topSessions.map((t) => [t.id, t.createdBy, t.pattern, t.status, t.calls, t.costUsd])).toEqual([
      [ids.s3, 'bob', 'hybrid', 'active', 1, 1],
      [ids.s1, 'admin-user', 'long-running', 'active', 2, 0.26],
    ])
  })

  it('reports failure, model error and worker crash rates', async () => {
    const s = await ok(`?from=${T0}&to=${T0 + 3 * DAY}`)
    expect(s.errors).toEqual({
      sessionsFailed: 1,
      sessionFailureRate: 0.5,
      modelErrors: 1,
      modelErrorRate: 0.333333,
      workerRestarts: 2,
      sessionsWithAgent: 2,
      crashRate: 1,
      restartsTruncated: false,
    })
  })

  it('covers only the range asked for, in hour buckets too', async () => {
    const day2 = await ok(`?from=${T0 + DAY}&to=${T0 + 2 * DAY}`)
    expect(day2.sessions.created).toBe(1)
    expect(day2.usage.calls).toBe(0)
    expect(day2.topSessions).toEqual([])
    expect(day2.errors.workerRestarts).toBe(0)
    // Live at the end of day 2: s1 and s3 (s2 and s4 ended that day).
    expect(day2.series).toHaveLength(1)
    expect(day2.series[0].live).toBe(2)

    const hours = await ok(`?from=${T0}&to=${T0 + 6 * HOUR}&bucket=hour`)
    expect(hours.series.map((p) => p.created)).toEqual([0, 3, 0, 0, 0, 0])
    expect(hours.series.map((p) => p.calls)).toEqual([0, 3, 0, 0, 0, 0])
    expect(hours.series.map((p) => p.live)).toEqual([0, 3, 3, 3, 3, 3])
  })

  it('defaults to the last 30 days ending now', async () => {
    const s = await ok('')
    expect(s.range).toEqual({ from: h.clock.now() - 30 * DAY, to: h.clock.now(), bucket: 'day' })
    expect(s.series).toHaveLength(31)
    expect(s.sessions.created).toBe(4)
  })

  it('answers 400 with the reason for a bad query', async () => {
    const cases: Array<[string, RegExp, string]> = [
      [`?from=${T0 + DAY}&to=${T0}`, /before to/, 'query.from'],
      [`?from=${T0}&to=${T0}`, /before to/, 'query.from'],
      ['?bucket=week', /hour or day/, 'query.bucket'],
      ['?from=yesterday', /epoch milliseconds or an ISO 8601 date/, 'query.from'],
      ['?to=2031-13-45', /epoch milliseconds or an ISO 8601 date/, 'query.to'],
      ['?from=-5', /epoch milliseconds/, 'query.from'],
      [`?from=${T0}&to=${T0 + 40 * DAY}&bucket=hour`, /range too long for bucket=hour: 960 buckets, at most 744/, 'query.from'],
      [`?from=0&to=${T0}`, /range too long for bucket=day/, 'query.from'],
      ['?limit=5', /unknown query parameter "limit"/, 'query.limit'],
      ['?bucket=day&bucket=hour', /given more than once/, 'query.bucket'],
    ]
    for (const [query, reason, field] of cases) {
      const res = await summary(query)
      expect(res.status, query).toBe(400)
      const body = (await res.json()) as { error: string; field: string }
      expect(body.error, query).toMatch(reason)
      expect(body.field, query).toBe(field)
    }
    expect((await h.request('/api/sessions/stats/summary', { method: 'POST', token: h.adminToken, json: {} })).status).toBe(405)
  })

  it('is for admins of all sessions only', async () => {
    const tokens = {
      viewer: await h.app.issueToken({ role: 'viewer', sessionId: ids.s1, subject: 'x-viewer' }),
      share: await h.app.issueToken({ role: 'collaborator', sessionId: ids.s1 }),
      collaborator: await h.app.issueToken({ role: 'collaborator', sessionId: ids.s1, subject: 'u-ann' }),
      worker: await h.app.issueToken({ role: 'worker', sessionId: ids.s1, subject: 'agent' }),
      sessionAdmin: await h.app.issueToken({ role: 'admin', sessionId: ids.s1, subject: 'admin-2' }),
    }
    for (const [who, token] of Object.entries(tokens)) {
      const res = await summary('', token)
      expect(res.status, who).toBe(403)
      expect(((await res.json()) as { error: string }).error, who).toMatch(/admin token for all sessions/)
    }
    expect((await summary('', null)).status).toBe(401)
    // The older counts endpoint is unchanged (any token, scoped to its session).
    expect((await h.request('/api/sessions/stats', { token: tokens.viewer })).status).toBe(200)
  })
})
