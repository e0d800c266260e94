/**
 * Sequential single POSTs on one connection: throughput and latency of one append at a time.
 * `sequential` runs against each streams server; `sequential-app` against the whole Tether app
 * (in this process, auth on, raw appends through /api/streams/…), with metrics on or off by
 * TETHER_METRICS, to measure what /metrics costs (issue #12 bar 5).
 */
import postgres from 'postgres'
import type { Pool } from 'undici'
import { append, createStream, makePool } from '../http'
import { makeMessage } from '../messages'
import { postgresDatabaseFor } from '../postgres'
import { now, percentile, Samples } from '../stats'
import { metricsOn, startApp } from './session-writer'
import type { Scenario } from './types'

let run = 0

/**
 * What the server's own PostgreSQL database does for one durable write at a time, measured from
 * this process right after the server's run: the most a node that answers after COMMIT could
 * reach here, before any HTTP or stream logic.
 */
async function databaseFloor(dataDir: string, quick: boolean): Promise<number> {
  const sql = postgres(await postgresDatabaseFor(dataDir), { max: 1, onnotice: () => {} })
  try {
    await sql`CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, data bytea NOT NULL)`
    const data = Buffer.alloc(160, 1)
    for (let i = 0; i < 200; i++) await sql`INSERT INTO bench_floor (data) VALUES (${data})`
    const durationMs = quick ? 1_000 : 3_000
    const start = now()
    let n = 0
    while (now() - start < durationMs) {
      await sql`INSERT INTO bench_floor (data) VALUES (${data})`
      n++
    }
    return n / ((now() - start) / 1000)
  } finally {
    await sql`DROP TABLE IF EXISTS bench_floor`.catch(() => {})
    await sql.end({ timeout: 5 })
  }
}

async function measure(pool: Pool, path: string, quick: boolean, headers: Record<string, string> = {}) {
  for (let i = 0; i < 200; i++) await append(pool, path, makeMessage(0, i), headers) // warm-up
  const durationMs = quick ? 1_000 : 3_000
  const latencies = new Samples()
  let failed = 0
  const start = now()
  let s = 200
  while (now() - start < durationMs) {
    const t0 = now()
    const reply = await append(pool, path, makeMessage(0, s++, t0), headers)
    latencies.push(now() - t0)
    if (reply.status >= 300) failed++
  }
  const elapsed = (now() - start) / 1000
  if (failed > 0) throw new Error(`${failed} appends failed`)
  return { ops: latencies.length / elapsed, p99: percentile(latencies.values(), 99) }
}

export const sequential: Scenario = {
  id: 'sequential',
  title: 'sequential single POSTs, 1 connection',
  repeats: 3,
  metrics: [
    {
      key: 'ops',
      label: 'ops/s',
      unit: 'ops/s',
      better: 'higher',
      target: { op: '>=', value: 3000 },
      // Issue 14: like for like. PostgreSQL answers after the WAL flush (survives power loss), as `fsync` does; `normal` does not flush per commit.
      pgTarget: { of: 'ours-fsync', min: 0.6, text: '>= 0.6x ours fsync (both flush per commit)' },
    },
    { key: 'p99', label: 'p99', unit: 'ms', better: 'lower', target: { op: '<', value: 2 }, digits: 2 },
    {
      key: 'dbFloor',
      label: "PostgreSQL alone: one-row INSERT + COMMIT, one at a time (postgres.js, no HTTP): the backend's ceiling",
      unit: 'ops/s',
      better: 'higher',
    },
  ],
  async run({ server, kind, quick }) {
    const pool = makePool(server.origin, 1)
    const path = server.streamPath(`seq-${process.pid}-${run++}`)
    await createStream(pool, path)
    try {
      const measured = await measure(pool, path, quick)
      return kind === 'ours-postgres' ? { ...measured, dbFloor: await databaseFloor(server.dataDir, quick) } : measured
    } finally {
      await pool.close()
    }
  },
}

export const sequentialApp: Scenario = {
  id: 'sequential-app',
  title: `sequential single POSTs through the whole app (/api/streams/…, auth on, metrics ${metricsOn() ? 'on' : 'off'}), 1 connection`,
  repeats: 3,
  servers: ['ours-normal'],
  metrics: sequential.metrics.filter((m) => m.key !== 'dbFloor').map(({ pgTarget: _, ...m }) => ({ ...m, target: undefined })),
  async run({ quick }) {
    const app = await startApp(undefined)
    const pool = makePool(app.origin, 1)
    const auth = { authorization: `Bearer ${app.token}` }
    try {
      const path = `/api/streams/bench/seq-${process.pid}-${run++}`
      const res = await pool.request({ path, method: 'PUT', headers: { 'content-type': 'application/json', ...auth } })
      await res.body.dump()
      if (res.statusCode !== 201) throw new Error(`PUT ${path}: HTTP ${res.statusCode}`)
      return await measure(pool, path, quick, auth)
    } finally {
      await pool.close()
      await app.close()
    }
  },
}
