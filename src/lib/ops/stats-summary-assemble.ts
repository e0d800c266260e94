/**
 * The stats summary (stats-summary.ts) from its query rows: pure, so SQLite's synchronous queries
 * and PostgreSQL's asynchronous ones (stats-summary-pg.ts) build the same answer. Every list the
 * queries return is bounded; the series has one point per bucket, zeros included.
 */
import { SESSION_PATTERNS, SESSION_STATUSES, type SessionPattern, type SessionStatus } from '../sessions/session-types'
import { BUCKET_MS, type StatsRange } from './stats-summary-query'
import type { StatsPoint, StatsSummary, TopSession, UsageFigures, UsageRow } from './stats-summary-types'

export const TOP_USAGE = 20
export const TOP_SESSIONS = 10
export const TOP_REASONS = 20
/** Sessions whose streams are read for restarts, newest first. */
export const RESTART_SCAN = 500

export type Params = { from: number; to: number; size: number }

/** What the queries answered (the names match stats-summary.ts's statements). */
export interface StatsRows {
  now: Array<{ status: SessionStatus; n: number }>
  created: Array<{ status: SessionStatus; pattern: SessionPattern; n: number }>
  createdSeries: Array<{ t: number; pattern: SessionPattern; n: number }>
  endedSeries: Array<{ t: number; status: 'completed' | 'failed' | 'terminated'; n: number }>
  endedByReason: Array<{ reason: string; count: number }>
  liveAtFrom: number
  activeWorkers: number
  /** At most RESTART_SCAN + 1 rows: one more says the scan was truncated. */
  withAgent: Array<{ id: string; status: SessionStatus }>
  withAgentCount: number
  usageTotal: (UsageFigures & { errors: number }) | undefined
  usageSeries: Array<UsageFigures & { t: number }>
  byModel: UsageRow[]
  byUser: UsageRow[]
  topSessions: TopSession[]
}

const usd = (n: number) => Math.round(n * 1e9) / 1e9
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e6) / 1e6 : 0)
const usage = (r: UsageFigures): UsageFigures => ({ calls: r.calls, tokensIn: r.tokensIn, tokensOut: r.tokensOut, costUsd: usd(r.costUsd) })
const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

export function paramsOf(range: StatsRange): Params {
  return { from: range.from, to: range.to, size: BUCKET_MS[range.bucket] }
}

/** The sessions whose restarts are counted: the newest RESTART_SCAN with an agent. */
export function restartScan(rows: Pick<StatsRows, 'withAgent'>): Array<{ id: string; live: boolean }> {
  return rows.withAgent.slice(0, RESTART_SCAN).map((s) => ({ id: s.id, live: s.status === 'active' || s.status === 'idle' }))
}

export function assembleSummary(range: StatsRange, now: number, rows: StatsRows, workerRestarts: number): StatsSummary {
  const nowCounts = { total: 0, active: 0, idle: 0 }
  for (const r of rows.now) {
    nowCounts.total += r.n
    if (r.status === 'active') nowCounts.active += r.n
    if (r.status === 'idle') nowCounts.idle += r.n
  }
  const byStatus = zeros(SESSION_STATUSES)
  const byPattern = zeros(SESSION_PATTERNS)
  let created = 0
  for (const r of rows.created) {
    created += r.n
    byStatus[r.status] += r.n
    byPattern[r.pattern] += r.n
  }

  const series = seriesOf(range, rows)
  const ended = series.reduce((n, b) => n + b.ended, 0)
  const failed = series.reduce((n, b) => n + b.endedByStatus.failed, 0)
  const total = rows.usageTotal ?? { calls: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, errors: 0 }

  return {
    range: { from: range.from, to: range.to, bucket: range.bucket },
    generatedAt: now,
    sessions: { now: nowCounts, created, byStatus, byPattern, ended, endedByReason: rows.endedByReason },
    workers: { active: rows.activeWorkers, source: 'sessions' },
    usage: {
      ...usage(total),
      byModel: rows.byModel.map((r) => ({ key: r.key, ...usage(r) })),
      byUser: rows.byUser.map((r) => ({ key: r.key, ...usage(r) })),
    },
    series,
    topSessions: rows.topSessions.map((r) => ({ ...r, ...usage(r) })),
    errors: {
      sessionsFailed: failed,
      sessionFailureRate: rate(failed, ended),
      modelErrors: total.errors,
      modelErrorRate: rate(total.errors, total.calls),
      workerRestarts,
      sessionsWithAgent: rows.withAgentCount,
      crashRate: rate(workerRestarts, rows.withAgentCount),
      restartsTruncated: rows.withAgent.length > RESTART_SCAN,
    },
  }
}

/** One point per bucket from floor(from) to to, zeros included (charts need the gaps). */
function seriesOf(range: StatsRange, rows: StatsRows): StatsPoint[] {
  const size = BUCKET_MS[range.bucket]
  const points = new Map<number, StatsPoint>()
  for (let t = Math.floor(range.from / size) * size; t < range.to; t += size) {
    points.set(t, {
      t,
      created: 0,
      createdByPattern: zeros(SESSION_PATTERNS),
      ended: 0,
      endedByStatus: { completed: 0, failed: 0, terminated: 0 },
      live: 0,
      calls: 0,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
    })
  }
  for (const r of rows.createdSeries) {
    const p = points.get(r.t)
    if (!p) continue
    p.created += r.n
    p.createdByPattern[r.pattern] += r.n
  }
  for (const r of rows.endedSeries) {
    const p = points.get(r.t)
    if (!p) continue
    p.ended += r.n
    p.endedByStatus[r.status] += r.n
  }
  for (const r of rows.usageSeries) {
    const p = points.get(r.t)
    if (p) Object.assign(p, usage(r))
  }
  // Live at each bucket's end: live at `from`, plus what was created, minus what ended, since.
  let live = rows.liveAtFrom
  for (const p of points.values()) {
    live += p.created - p.ended
    p.live = live
  }
  return [...points.values()]
}
