/**
 * Node capacity on PostgreSQL (issue 14: the numbers that size a multi-node Tether). The
 * node-capacity load (agent 5 chunks/s, 2 SSE viewers, presence, cursor per session; N steps up
 * until chunk delivery p99 ≥ 100 ms) run three times in one go, so the rows compare under the
 * same machine conditions:
 *   - sqlite, 1 node: the app on its SQLite file, as the node-capacity row;
 *   - pg, 1 node: the app on a fresh PostgreSQL database of the test cluster;
 *   - pg, 2 nodes, split: two app processes on one fresh database; the agent writes to node 1,
 *     both viewers read and send presence on node 2 (every chunk crosses nodes, and both nodes
 *     write every session's stream), as a load balancer spreading people gives;
 *   - pg, 2 nodes, by session: each session wholly on one node (alternately), as a load balancer
 *     pinning requests by session id gives.
 * N is the total over both nodes.
 * Per node: CPU and RSS per session at the largest passing N. For PostgreSQL also the database's
 * CPU per session (the backends serving this database plus the WAL writer, from /proc) and the
 * cluster's WAL flushes per second (pg_stat_wal, cluster-wide: other databases on the test
 * cluster count too).
 *
 *   npm run bench -- --only node-capacity-pg --servers ours-postgres [--quick]
 * The ours-postgres streams server the runner starts stays idle; each row opens its own database.
 */
import postgres from 'postgres'
import { freshDatabase } from '../../test/support/postgres'
import { type CapacityResult, type DatabaseProbe, measureNodeCapacity } from './node-capacity'
import type { Metric, MetricValues, Scenario } from './types'

// Lower than node-capacity's: on the shared 2-core box PostgreSQL rows miss from N = 5.
const STEPS = [1, 2, 5, 10, 25, 50, 100, 200, 400, 1000]
const QUICK_STEPS = [1, 5]

const ROWS = [
  { key: 's1', label: 'sqlite, 1 node', pg: false, nodes: 1 },
  { key: 'p1', label: 'pg, 1 node', pg: true, nodes: 1 },
  { key: 'p2', label: 'pg, 2 nodes, split (agent on node 1, viewers on node 2)', pg: true, nodes: 2, split: 'cross' },
  { key: 'p2a', label: 'pg, 2 nodes, by session (each session wholly on one node)', pg: true, nodes: 2, split: 'affinity' },
] as const satisfies ReadonlyArray<{ key: string; label: string; pg: boolean; nodes: 1 | 2; split?: 'cross' | 'affinity' }>

function metricsOf(row: (typeof ROWS)[number]): Metric[] {
  const m = (key: string, label: string, unit: string, better: 'higher' | 'lower', digits: number): Metric => ({
    key: `${row.key}.${key}`,
    label: `${row.label}: ${label}`,
    unit,
    better,
    digits,
  })
  const perNode = row.nodes === 2 ? ['node 1', 'node 2'] : ['']
  return [
    { ...m('maxSessions', 'largest N passing', 'sessions', 'higher', 0), target: { op: '>=', value: 1000 } },
    m('p99', 'chunk delivery p99 at that N', 'ms', 'lower', 1),
    ...perNode.map((n, i) => m(`cpu${i}`, `app CPU per session${n ? `, ${n}` : ''}`, '% of a core', 'lower', 2)),
    ...perNode.map((n, i) => m(`rss${i}`, `app RSS per session${n ? `, ${n}` : ''} (growth from idle)`, 'KiB', 'lower', 0)),
    ...(row.pg
      ? [
          m('dbCpu', 'database CPU per session (its backends + WAL writer)', '% of a core', 'lower', 2),
          m('wal', 'WAL flushes/s at that N (cluster-wide)', '/s', 'lower', 0),
          m('deadlocks', 'deadlocks in the deciding step', 'deadlocks', 'lower', 0),
        ]
      : []),
    m('firstMiss', "first N that missed ('failed' = none missed)", 'sessions', 'higher', 0),
    m('loopP99', 'load generator loop delay p99 at the deciding step', 'ms', 'lower', 1),
  ]
}

/** The database's server processes and WAL counters, read through one admin connection. */
function probe(url: string): DatabaseProbe & { end(): Promise<void> } {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const name = new URL(url).pathname.slice(1)
  return {
    async pids() {
      const rows = await sql<{ pid: number }[]>`
        SELECT pid FROM pg_stat_activity
        WHERE (datname = ${name} AND pid <> pg_backend_pid()) OR backend_type = 'walwriter'`
      return rows.map((r) => r.pid)
    },
    async counters() {
      const [r] = await sql<{ syncs: string; bytes: string; deadlocks: string }[]>`
        SELECT w.wal_sync::text AS syncs, w.wal_bytes::text AS bytes, d.deadlocks::text AS deadlocks
        FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = ${name}`
      return { syncs: Number(r.syncs), bytes: Number(r.bytes), deadlocks: Number(r.deadlocks) }
    },
    end: () => sql.end({ timeout: 5 }),
  }
}

function valuesOf(row: (typeof ROWS)[number], r: CapacityResult): MetricValues {
  const v: MetricValues = {
    [`${row.key}.maxSessions`]: r.maxSessions,
    [`${row.key}.p99`]: r.p99,
    [`${row.key}.firstMiss`]: r.firstMiss,
    [`${row.key}.loopP99`]: r.loopP99,
  }
  for (let i = 0; i < row.nodes; i++) {
    v[`${row.key}.cpu${i}`] = r.cpuPerSession[i] ?? Number.NaN
    v[`${row.key}.rss${i}`] = r.rssPerSession[i] ?? Number.NaN
  }
  if (row.pg) {
    v[`${row.key}.dbCpu`] = r.dbCpuPerSession
    v[`${row.key}.wal`] = r.walSyncs
    v[`${row.key}.deadlocks`] = r.deadlocks
  }
  return v
}

export const nodeCapacityPg: Scenario = {
  id: 'node-capacity-pg',
  title:
    'node capacity on PostgreSQL: live sessions (as node-capacity) with chunk delivery p99 < 100 ms, SQLite 1 node vs PostgreSQL 1 node vs 2 nodes on one database',
  repeats: 1,
  servers: ['ours-postgres'],
  metrics: ROWS.flatMap(metricsOf),
  async run({ quick, log }) {
    const values: MetricValues = {}
    for (const row of ROWS) {
      const rowLog = (m: string) => log(`${row.label}: ${m}`)
      if (!row.pg) {
        Object.assign(values, valuesOf(row, await measureNodeCapacity({ quick, log: rowLog, steps: STEPS, quickSteps: QUICK_STEPS })))
        continue
      }
      const db = await freshDatabase()
      const database = probe(db.url)
      try {
        const r = await measureNodeCapacity({
          quick,
          log: rowLog,
          databaseUrl: db.url,
          steps: STEPS,
          quickSteps: QUICK_STEPS,
          nodes: row.nodes,
          split: 'split' in row ? row.split : undefined,
          database,
        })
        Object.assign(values, valuesOf(row, r))
      } finally {
        await database.end()
        await db.drop()
      }
    }
    return values
  },
}
