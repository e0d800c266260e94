/**
 * The stats summary on both engines from one fixture of raw rows: SQLite (StatsSummaries) and
 * PostgreSQL (PgStatsSummaries) answer the same JSON for day and hour ranges, and the figures
 * are the expected ones (sessions by status, pattern and bucket, live counts, sessions with an
 * agent including a bad agent_config, ledger sums with refused and running calls, top lists with
 * ties and a deleted session, worker restarts from stream rows). The PostgreSQL route is admin
 * only, and a bad query is a 400 before any query runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionStreamPath } from '../../../src/lib/common/session-contract'
import { StatsSummaries } from '../../../src/lib/ops/stats-summary'
import { createPgStatsSummaryHandler, PgStatsSummaries } from '../../../src/lib/ops/stats-summary-pg'
import { parseStatsRange } from '../../../src/lib/ops/stats-summary-query'
import type { StatsSummary } from '../../../src/lib/ops/stats-summary-types'
import { HttpError } from '../../../src/lib/sessions/http'
import type { TokenClaims } from '../../../src/lib/sessions/tokens'
import { OPS_ENGINES, type OpsDb, type Row } from './ops-engines'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.UTC(2026, 10, 20)

const session = (id: string, over: Partial<Record<string, string | number | null>>): Row => ({
  id,
  pattern: 'long-running',
  status: 'active',
  title: `title ${id}`,
  agent_config: '{}',
  agents: '[]',
  created_by: 'alice',
  created_at: T0,
  updated_at: T0,
  ended_at: null,
  end_reason: null,
  ...over,
})
const SESSIONS: Row[] = [
  session('s1', { agent_config: '{"model":"echo"}', created_at: T0 + 1 * HOUR }),
  session('s2', { pattern: 'ephemeral', created_at: T0 + 2 * HOUR, status: 'completed', ended_at: T0 + 3 * HOUR, end_reason: 'completed' }),
  session('s3', { pattern: 'hybrid', agent_config: '{"provider":"anthropic","model":""}', created_by: 'bob', created_at: T0 + 2 * HOUR }),
  session('s4', { agents: '[{"id":"a"}]', status: 'failed', created_at: T0 + DAY, ended_at: T0 + DAY + 5 * HOUR, end_reason: 'limit:budget' }),
  session('s5', { agent_config: 'not json {"model":', status: 'terminated', created_at: T0 + DAY, ended_at: T0 + 2 * DAY, end_reason: null }),
  session('s6', { agent_config: '{"model":""}', status: 'idle', created_by: null, created_at: T0 + DAY + HOUR }),
  // Before the range: live at `from`.
  session('s0', { agent_config: '{"model":"echo"}', created_at: T0 - DAY }),
]
const call = (sessionId: string, model: string, status: string, tin: number, tout: number, cost: number, at: number): Row => ({
  session_id: sessionId,
  model,
  status,
  input_tokens: tin,
  output_tokens: tout,
  cost_usd: cost,
  started_at: at,
})
const CALLS: Row[] = [
  call('s1', 'anthropic:haiku', 'ok', 100, 50, 0.25, T0 + HOUR),
  call('s1', 'openai:mini', 'error', 10, 0, 0.01, T0 + HOUR),
  call('s3', 'anthropic:haiku', 'ok', 1000, 500, 1, T0 + 2 * HOUR),
  call('s3', 'anthropic:haiku', 'refused', 0, 0, 0, T0 + 2 * HOUR),
  call('s3', 'anthropic:haiku', 'running', 0, 0, 0.5, T0 + DAY + 2 * HOUR),
  // A deleted session's calls are kept: no title, no user.
  call('gone', 'openai:mini', 'ok', 5, 5, 0.25, T0 + DAY),
  call('s6', 'openai:Mini', 'ok', 1, 1, 0.25, T0 + DAY + HOUR),
]
const state = (restarts: number) => JSON.stringify({ type: 'agent-state', key: 'a', value: { kind: 'state', agentId: 'a', restarts } })
const STREAMS: Row[] = ['s1', 's4'].map((id, i) => ({
  id: i + 1,
  path: sessionStreamPath(id),
  content_type: 'application/json',
  json_mode: 1,
  created_at: T0,
  last_access_at: T0,
  tail_seq: 1,
}))
const MESSAGES: Row[] = [
  { stream_id: 1, seq: 1, end_pos: 10, count: 1, data: Buffer.from(state(2)) },
  { stream_id: 2, seq: 1, end_pos: 10, count: 1, data: Buffer.from(state(1)) },
]

const QUERIES = [`from=${T0}&to=${T0 + 3 * DAY}&bucket=day`, `from=${T0}&to=${T0 + 2 * DAY}&bucket=hour`, `from=${T0 + DAY}&to=${T0 + 2 * DAY}`]
const NOW = T0 + 3 * DAY

describe('stats summary on SQLite and PostgreSQL', () => {
  const dbs: OpsDb[] = []
  const answers = new Map<string, { sqlite: StatsSummary; postgres: StatsSummary }>()
  let pgSql: (OpsDb & { engine: 'postgres' })['pg']['sql']
  beforeAll(async () => {
    for (const engine of ['sqlite', 'postgres'] as const) {
      const db = await OPS_ENGINES[engine]()
      dbs.push(db)
      await db.insert('sessions', SESSIONS)
      await db.insert('model_calls', CALLS)
      await db.insert('streams', STREAMS)
      await db.insert('messages', MESSAGES)
    }
    const [lite, pg] = dbs
    if (lite?.engine !== 'sqlite' || pg?.engine !== 'postgres') throw new Error('engines out of order')
    pgSql = pg.pg.sql
    const s = new StatsSummaries(lite.sqlite.sqlite)
    const p = new PgStatsSummaries(pg.pg.sql)
    for (const q of QUERIES) {
      const range = parseStatsRange(new URLSearchParams(q), NOW)
      answers.set(q, { sqlite: s.summarize(range, NOW), postgres: await p.summarize(range, NOW) })
    }
  }, 120_000)
  afterAll(async () => {
    for (const db of dbs) await db.close()
  })

  it.each(QUERIES)('answers the same JSON on both engines for %s', (q) => {
    const a = answers.get(q)!
    expect(a.postgres).toEqual(a.sqlite)
  })

  it('counts the fixture right (so the equality above compares real figures)', () => {
    const s = answers.get(QUERIES[0])!.postgres
    expect(s.sessions.now).toEqual({ total: 7, active: 3, idle: 1 })
    expect(s.sessions.created).toBe(6)
    expect(s.sessions.endedByReason).toEqual([
      { reason: 'completed', count: 1 },
      { reason: 'limit:budget', count: 1 },
      { reason: 'terminated', count: 1 },
    ])
    // s0 live at from; day 1: +s1 s2 s3, -s2; day 2: +s4 s5 s6, -s4; day 3: -s5.
    expect(s.series.map((p) => p.live)).toEqual([1 + 3 - 1, 3 + 3 - 1, 5 - 1])
    // Agents: s1 (model), s3 (provider), s4 (agent list); not s5 (bad JSON), s6 (empty model), s2.
    expect(s.errors.sessionsWithAgent).toBe(3)
    expect(s.workers.active).toBe(3)
    expect(s.errors.workerRestarts).toBe(2 + 1)
    expect({ calls: s.usage.calls, tokensIn: s.usage.tokensIn, costUsd: s.usage.costUsd }).toEqual({ calls: 6, tokensIn: 1116, costUsd: 2.26 })
    // A running call counts its reservation; the refused one nothing.
    expect(s.usage.byModel.map((r) => [r.key, r.calls, r.costUsd])).toEqual([
      ['anthropic:haiku', 3, 1.75],
      ['openai:mini', 2, 0.26],
      ['openai:Mini', 1, 0.25],
    ])
    // bob 1; no user (deleted session, s6) 0.5; alice 0.26.
    expect(s.usage.byUser.map((r) => r.key)).toEqual(['bob', null, 'alice'])
    expect(s.topSessions.map((t) => [t.id, t.title])).toEqual([
      ['s3', 'title s3'],
      ['s1', 'title s1'],
      ['gone', null],
      ['s6', 'title s6'],
    ])
    expect(s.errors.modelErrors).toBe(1)
  })

  it('serves the route to admins only; a bad query is a 400', async () => {
    const handler = createPgStatsSummaryHandler(pgSql, () => NOW)
    const admin: TokenClaims = { role: 'admin', sid: '*', iat: 0, exp: NOW / 1000 + 60 }
    const res = await handler(new Request(`http://app/api/sessions/stats/summary?${QUERIES[0]}`), admin)
    expect(((await res.json()) as StatsSummary).sessions.created).toBe(6)
    for (const claims of [
      { ...admin, sid: 's1' },
      { ...admin, role: 'collaborator' },
      { ...admin, role: 'viewer', sid: 's1' },
    ] as TokenClaims[]) {
      await expect(handler(new Request('http://app/api/sessions/stats/summary'), claims)).rejects.toMatchObject({ status: 403 })
    }
    await expect(handler(new Request('http://app/api/sessions/stats/summary?bucket=week'), admin)).rejects.toBeInstanceOf(HttpError)
  })
})
