/**
 * `GET /api/sessions/stats/summary` (admin): what the stats dashboard shows, as SQL over the
 * tables that already hold it: `sessions` (lifecycle: created, ended, status, pattern, creator)
 * and the gateway's ledger `model_calls` (tokens and cost per call, kept after a session is
 * deleted). Every list is bounded (buckets by the query's limits, top lists by LIMIT), so the
 * answer's size does not grow with the data. Times are UTC buckets of the row's epoch ms.
 * The rows become the answer in stats-summary-assemble.ts; PostgreSQL's queries are
 * stats-summary-pg.ts.
 */
import type Database from 'better-sqlite3'
import type { SessionPattern, SessionStatus } from '../sessions/session-types'
import {
  assembleSummary,
  paramsOf,
  restartScan,
  RESTART_SCAN,
  TOP_REASONS,
  TOP_SESSIONS,
  TOP_USAGE,
  type Params,
  type StatsRows,
} from './stats-summary-assemble'
import { parseStatsRange, type StatsRange } from './stats-summary-query'
import type { StatsSummary, TopSession, UsageFigures, UsageRow } from './stats-summary-types'
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
      withAgentCount: p<{ n: number }>(
        `SELECT count(*) AS n FROM sessions WHERE created_at >= @from AND created_at < @to AND ${HAS_AGENT}`,
      ),
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
    const params = paramsOf(range)
    const q = this.q
    const rows: StatsRows = {
      now: q.now.all(),
      created: q.created.all(params),
      createdSeries: q.createdSeries.all(params),
      endedSeries: q.endedSeries.all(params),
      endedByReason: q.endedByReason.all(params),
      liveAtFrom: q.liveAtFrom.get(params)?.n ?? 0,
      activeWorkers: q.activeWorkers.get()?.n ?? 0,
      withAgent: q.withAgent.all(params),
      withAgentCount: q.withAgentCount.get(params)?.n ?? 0,
      usageTotal: q.usageTotal.get(params),
      usageSeries: q.usageSeries.all(params),
      byModel: q.byModel.all(params),
      byUser: q.byUser.all(params),
      topSessions: q.topSessions.all(params),
    }
    return assembleSummary(range, now, rows, this.restarts.total(restartScan(rows)))
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
