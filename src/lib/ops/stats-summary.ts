/**
 * `GET /api/sessions/stats/summary` (admin): what the stats dashboard shows, as SQL over the
 * tables that already hold it: `sessions` (lifecycle: created, ended, status, pattern, creator)
 * and the gateway's ledger `model_calls` (tokens and cost per call, kept after a session is
 * deleted). Every list is bounded (buckets by the query's limits, top lists by LIMIT), so the
 * answer's size does not grow with the data. Times are UTC buckets of the row's epoch ms.
 */
import type Database from 'better-sqlite3'
import { SESSION_PATTERNS, SESSION_STATUSES, type SessionPattern, type SessionStatus } from '../sessions/session-types'
import { BUCKET_MS, parseStatsRange, type StatsRange } from './stats-summary-query'
import type { StatsPoint, StatsSummary, TopSession, UsageFigures, UsageRow } from './stats-summary-types'
import { WorkerRestarts } from './worker-restarts'
import { requireAdmin } from '../sessions/auth'
import { json } from '../sessions/http'
import type { TokenClaims } from '../sessions/tokens'

const ENDED = `('completed', 'failed', 'terminated')`
/** Sessions with an agent get a worker (workers/supervisor.ts defaultNeedsWorker: an agent list, or a model or a provider). */
const HAS_AGENT = `(agents != '[]' OR CASE WHEN json_valid(agent_config) THEN coalesce(json_extract(agent_config, '$.model'), '') != ''
  OR coalesce(json_extract(agent_config, '$.provider'), '') != '' ELSE 0 END)`
const USAGE_COLUMNS = `count(*) AS calls, coalesce(sum(m.input_tokens), 0) AS tokensIn,
  coalesce(sum(m.output_tokens), 0) AS tokensOut, coalesce(sum(m.cost_usd), 0) AS costUsd`
/** Refused calls never reached a provider: not calls, no cost. */
const CALLS_IN_RANGE = `m.started_at >= @from AND m.started_at < @to AND m.status != 'refused'`
const TOP_USAGE = 20
const TOP_SESSIONS = 10
const TOP_REASONS = 20
/** Sessions whose streams are read for restarts, newest first. */
const RESTART_SCAN = 500

const usd = (n: number) => Math.round(n * 1e9) / 1e9
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 1e6) / 1e6 : 0)
const usage = (r: UsageFigures): UsageFigures => ({ calls: r.calls, tokensIn: r.tokensIn, tokensOut: r.tokensOut, costUsd: usd(r.costUsd) })
const zeros = <K extends string>(keys: readonly K[]) => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>

type Params = { from: number; to: number; size: number }

export class StatsSummaries {
  private readonly q
  private readonly restarts: WorkerRestarts

  constructor(sqlite: Database.Database) {
    const p = <R>(text: string) => sqlite.prepare<Params, R>(text)
    const p0 = <R>(text: string) => sqlite.prepare<[], R>(text)
    this.restarts = new WorkerRestarts(sqlite)
    this.q = {
      now: p0<{ status: SessionStatus; n: number }>(`SELECT status, count(*) AS n FROM sessions GROUP BY status`),
      created: p<{ status: SessionStatus; pattern: SessionPattern; n: number }>(
        `SELECT status, pattern, count(*) AS n FROM sessions WHERE created_at >= @from AND created_at < @to GROUP BY status, pattern`,
      ),
      createdSeries: p<{ t: number; pattern: SessionPattern; n: number }>(
        `SELECT CAST(created_at / @size AS INTEGER) * @size AS t, pattern, count(*) AS n FROM sessions
         WHERE created_at >= @from AND created_at < @to GROUP BY t, pattern`,
      ),
      endedSeries: p<{ t: number; status: 'completed' | 'failed' | 'terminated'; n: number }>(
        `SELECT CAST(ended_at / @size AS INTEGER) * @size AS t, status, count(*) AS n FROM sessions
         WHERE ended_at >= @from AND ended_at < @to AND status IN ${ENDED} GROUP BY t, status`,
      ),
      endedByReason: p<{ reason: string; count: number }>(
        `SELECT coalesce(end_reason, status) AS reason, count(*) AS count FROM sessions
         WHERE ended_at >= @from AND ended_at < @to AND status IN ${ENDED}
         GROUP BY reason ORDER BY count DESC, reason LIMIT ${TOP_REASONS}`,
      ),
      liveAtFrom: p<{ n: number }>(
        `SELECT count(*) AS n FROM sessions WHERE created_at < @from
         AND NOT (status IN ${ENDED} AND ended_at IS NOT NULL AND ended_at < @from)`,
      ),
      activeWorkers: p0<{ n: number }>(`SELECT count(*) AS n FROM sessions WHERE status = 'active' AND ${HAS_AGENT}`),
      withAgent: p<{ id: string; status: SessionStatus }>(
        `SELECT id, status FROM sessions WHERE created_at >= @from AND created_at < @to AND ${HAS_AGENT}
         ORDER BY created_at DESC, id DESC LIMIT ${RESTART_SCAN + 1}`,
      ),
      withAgentCount: p<{ n: number }>(`SELECT count(*) AS n FROM sessions WHERE created_at >= @from AND created_at < @to AND ${HAS_AGENT}`),
      usageTotal: p<UsageFigures & { errors: number }>(
        `SELECT ${USAGE_COLUMNS}, coalesce(sum(m.status = 'error'), 0) AS errors FROM model_calls m WHERE ${CALLS_IN_RANGE}`,
      ),
      usageSeries: p<UsageFigures & { t: number }>(
        `SELECT CAST(m.started_at / @size AS INTEGER) * @size AS t, ${USAGE_COLUMNS} FROM model_calls m WHERE ${CALLS_IN_RANGE} GROUP BY t`,
      ),
      byModel: p<UsageRow>(
        `SELECT m.model AS key, ${USAGE_COLUMNS} FROM model_calls m WHERE ${CALLS_IN_RANGE}
         GROUP BY m.model ORDER BY costUsd DESC, calls DESC, key LIMIT ${TOP_USAGE}`,
      ),
      byUser: p<UsageRow>(
        `SELECT s.created_by AS key, ${USAGE_COLUMNS} FROM model_calls m LEFT JOIN sessions s ON s.id = m.session_id
         WHERE ${CALLS_IN_RANGE} GROUP BY s.created_by ORDER BY costUsd DESC, calls DESC, key LIMIT ${TOP_USAGE}`,
      ),
      topSessions: p<TopSession>(
        `SELECT m.session_id AS id, s.title AS title, s.status AS status, s.pattern AS pattern, s.created_by AS createdBy,
         ${USAGE_COLUMNS} FROM model_calls m LEFT JOIN sessions s ON s.id = m.session_id
         WHERE ${CALLS_IN_RANGE} GROUP BY m.session_id ORDER BY costUsd DESC, calls DESC, m.session_id LIMIT ${TOP_SESSIONS}`,
      ),
    }
  }

  summarize(range: StatsRange, now: number): StatsSummary {
    const size = BUCKET_MS[range.bucket]
    const params: Params = { from: range.from, to: range.to, size }
    const q = this.q

    const nowCounts = { total: 0, active: 0, idle: 0 }
    for (const r of q.now.all()) {
      nowCounts.total += r.n
      if (r.status === 'active') nowCounts.active += r.n
      if (r.status === 'idle') nowCounts.idle += r.n
    }
    const byStatus = zeros(SESSION_STATUSES)
    const byPattern = zeros(SESSION_PATTERNS)
    let created = 0
    for (const r of q.created.all(params)) {
      created += r.n
      byStatus[r.status] += r.n
      byPattern[r.pattern] += r.n
    }

    const series = this.series(range, params)
    const ended = series.reduce((n, b) => n + b.ended, 0)
    const failed = series.reduce((n, b) => n + b.endedByStatus.failed, 0)

    const total = q.usageTotal.get(params) ?? { calls: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, errors: 0 }
    const withAgent = q.withAgent.all(params)
    const scanned = withAgent.slice(0, RESTART_SCAN).map((s) => ({ id: s.id, live: s.status === 'active' || s.status === 'idle' }))
    const sessionsWithAgent = q.withAgentCount.get(params)?.n ?? 0
    const workerRestarts = this.restarts.total(scanned)

    return {
      range: { from: range.from, to: range.to, bucket: range.bucket },
      generatedAt: now,
      sessions: { now: nowCounts, created, byStatus, byPattern, ended, endedByReason: q.endedByReason.all(params) },
      workers: { active: q.activeWorkers.get()?.n ?? 0, source: 'sessions' },
      usage: {
        ...usage(total),
        byModel: q.byModel.all(params).map((r) => ({ key: r.key, ...usage(r) })),
        byUser: q.byUser.all(params).map((r) => ({ key: r.key, ...usage(r) })),
      },
      series,
      topSessions: q.topSessions.all(params).map((r) => ({ ...r, ...usage(r) })),
      errors: {
        sessionsFailed: failed,
        sessionFailureRate: rate(failed, ended),
        modelErrors: total.errors,
        modelErrorRate: rate(total.errors, total.calls),
        workerRestarts,
        sessionsWithAgent,
        crashRate: rate(workerRestarts, sessionsWithAgent),
        restartsTruncated: withAgent.length > RESTART_SCAN,
      },
    }
  }

  /** One point per bucket from floor(from) to to, zeros included (charts need the gaps). */
  private series(range: StatsRange, params: Params): StatsPoint[] {
    const size = params.size
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
    for (const r of this.q.createdSeries.all(params)) {
      const p = points.get(r.t)
      if (!p) continue
      p.created += r.n
      p.createdByPattern[r.pattern] += r.n
    }
    for (const r of this.q.endedSeries.all(params)) {
      const p = points.get(r.t)
      if (!p) continue
      p.ended += r.n
      p.endedByStatus[r.status] += r.n
    }
    for (const r of this.q.usageSeries.all(params)) {
      const p = points.get(r.t)
      if (p) Object.assign(p, usage(r))
    }
    // Live at each bucket's end: live at `from`, plus what was created, minus what ended, since.
    let live = this.q.liveAtFrom.get(params)?.n ?? 0
    for (const p of points.values()) {
      live += p.created - p.ended
      p.live = live
    }
    return [...points.values()]
  }
}

/** The route: admin only (it shows every session's spend and every user), then the bounded query. */
export function createStatsSummaryHandler(sqlite: Database.Database, now: () => number = Date.now) {
  const summaries = new StatsSummaries(sqlite)
  return (req: Request, claims: TokenClaims): Response => {
    requireAdmin(claims)
    const at = now()
    return json(summaries.summarize(parseStatsRange(new URL(req.url).searchParams, at), at))
  }
}
