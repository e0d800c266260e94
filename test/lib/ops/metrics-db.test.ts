/**
 * The database metrics (tether_sessions, tether_model_tokens_total, tether_model_cost_usd_total)
 * on both engines from one fixture: SQLite through sqliteMetricsReader, PostgreSQL through
 * pgMetricsReader. Same samples on both: running calls left out, the 50 most expensive models
 * kept and the rest summed as `other` (ties broken bytewise), the provider label from the prefix.
 */
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SessionMetrics, sqliteMetricsReader, type MetricsDbReader } from '../../../src/lib/ops/metrics-db'
import { pgMetricsReader } from '../../../src/lib/ops/metrics-db-pg'
import { OPS_ENGINES, type OpsDb, type Row } from './ops-engines'

const T0 = Date.UTC(2026, 10, 29, 12)

const session = (id: string, status: string, pattern: string): Row => ({ id, status, pattern, created_at: T0, updated_at: T0 })
const call = (model: string, status: string, tin: number, tout: number, cost: number): Row => ({
  session_id: 's1',
  model,
  status,
  input_tokens: tin,
  output_tokens: tout,
  cost_usd: cost,
  started_at: T0,
})

const calls: Row[] = [
  call('anthropic:haiku', 'ok', 100, 20, 0.5),
  call('anthropic:haiku', 'error', 10, 0, 0.25),
  // A running call's cost is a reservation: not counted.
  call('anthropic:haiku', 'running', 1000, 1000, 9),
  call('echo', 'ok', 7, 3, 0),
  // 49 more models, dearer than echo, so echo and one of two equal-cost cheap models fall into `other`.
  ...Array.from({ length: 48 }, (_, i) => call(`openai:m${String(i).padStart(2, '0')}`, 'ok', 1, 1, 1 + i)),
  call('x:Z', 'ok', 2, 2, 0.01),
  call('x:a', 'ok', 3, 3, 0.01),
]

async function samples(reader: MetricsDbReader): Promise<Map<string, number>> {
  const registry = new Registry()
  new SessionMetrics().registerFrom(registry, reader, null)
  const out = new Map<string, number>()
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      const labels = Object.entries(v.labels ?? {})
        .map(([k, l]) => `${k}=${l}`)
        .sort()
        .join(',')
      out.set(`${m.name}{${labels}}`, v.value)
    }
  }
  return out
}

describe.each(['sqlite', 'postgres'] as const)('database metrics on %s', (engine) => {
  let db: OpsDb
  let reader: MetricsDbReader
  beforeAll(async () => {
    db = await OPS_ENGINES[engine]()
    reader = db.engine === 'sqlite' ? sqliteMetricsReader(db.sqlite.sqlite) : pgMetricsReader(db.pg.sql)
    await db.insert('sessions', [
      session('s1', 'active', 'long-running'),
      session('s2', 'active', 'long-running'),
      session('s3', 'completed', 'ephemeral'),
    ])
    await db.insert('model_calls', calls)
  }, 120_000)
  afterAll(async () => {
    await db?.close()
  })

  it('counts sessions by status and pattern', async () => {
    const s = await samples(reader)
    expect(s.get('tether_sessions{pattern=long-running,status=active}')).toBe(2)
    expect(s.get('tether_sessions{pattern=ephemeral,status=completed}')).toBe(1)
    expect([...s.keys()].filter((k) => k.startsWith('tether_sessions{'))).toHaveLength(2)
  })

  it('sums settled model calls per model, as numbers, running calls left out', async () => {
    const s = await samples(reader)
    expect(s.get('tether_model_tokens_total{direction=in,model=anthropic:haiku,provider=anthropic}')).toBe(110)
    expect(s.get('tether_model_tokens_total{direction=out,model=anthropic:haiku,provider=anthropic}')).toBe(20)
    expect(s.get('tether_model_cost_usd_total{model=anthropic:haiku,provider=anthropic}')).toBe(0.75)
    expect(s.get('tether_model_cost_usd_total{model=openai:m47,provider=openai}')).toBe(48)
  })

  it('keeps the 50 most expensive models, ties bytewise, and sums the rest as other', async () => {
    const s = await samples(reader)
    const models = [...s.keys()].filter((k) => k.startsWith('tether_model_cost_usd_total{'))
    expect(models).toHaveLength(51)
    // x:Z and x:a cost the same: 'Z' sorts before 'a' bytewise, so x:Z is the 50th.
    expect(s.get('tether_model_cost_usd_total{model=x:Z,provider=x}')).toBe(0.01)
    expect(s.has('tether_model_cost_usd_total{model=x:a,provider=x}')).toBe(false)
    expect(s.get('tether_model_tokens_total{direction=in,model=other,provider=other}')).toBe(3 + 7)
    expect(s.get('tether_model_cost_usd_total{model=other,provider=other}')).toBe(0.01)
  })
})
