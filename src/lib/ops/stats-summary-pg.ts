/**
 * The stats summary's queries (stats-summary.ts) on PostgreSQL (issue #14): the same figures,
 * run concurrently, then the same assembly (stats-summary-assemble.ts). Differences from the
 * SQLite text, each to give the same answer:
 * - sums of bigint columns are numeric (strings from the driver): cast to float8 (exact < 2^53);
 * - aliases are quoted (PostgreSQL folds unquoted names to lower case);
 * - ties sort bytewise (COLLATE "C") and NULL users first, as SQLite orders them;
 * - "has an agent" matches a non-empty `model` or `provider` string in the agent_config JSON text
 *   with a regular expression: PostgreSQL 15 has no json_valid, and a cast of a bad row would
 *   fail the whole summary (the app writes agent_config with JSON.stringify: no spaces, keys
 *   quoted, a nested quote escaped, so the pattern cannot match inside another string).
 */
import type { Sql } from 'postgres'
import { requireAdmin } from '../sessions/auth'
import { json } from '../sessions/http'
import type { TokenClaims } from '../sessions/tokens'
import { assembleSummary, paramsOf, restartScan, RESTART_SCAN, TOP_REASONS, TOP_SESSIONS, TOP_USAGE, type StatsRows } from './stats-summary-assemble'
import { parseStatsRange, type StatsRange } from './stats-summary-query'
import type { StatsSummary, TopSession, UsageRow } from './stats-summary-types'
import { PgWorkerRestarts } from './worker-restarts-pg'

const HAS_AGENT = `(agents != '[]' OR agent_config ~ '"(model|provider)":"[^"]')`
const ENDED = `('completed', 'failed', 'terminated')`
const USAGE_COLUMNS = `count(*) AS calls, coalesce(sum(m.input_tokens), 0)::float8 AS "tokensIn",
  coalesce(sum(m.output_tokens), 0)::float8 AS "tokensOut", coalesce(sum(m.cost_usd), 0)::float8 AS "costUsd"`
/** Refused calls never reached a provider: not calls, no cost. $1 = from, $2 = to, $3 = bucket size. */
const CALLS_IN_RANGE = `m.started_at >= $1 AND m.started_at < $2 AND m.status != 'refused'`
const IN_RANGE = (column: string) => `${column} >= $1 AND ${column} < $2`
const BUCKET = (column: string) => `(${column} / $3::bigint) * $3::bigint`

export class PgStatsSummaries {
  private readonly restarts: PgWorkerRestarts

  constructor(private readonly sql: Sql) {
    this.restarts = new PgWorkerRestarts(sql)
  }

  async summarize(range: StatsRange, now: number): Promise<StatsSummary> {
    const { from, to, size } = paramsOf(range)
    const args = [from, to, size]
    // Only the parameters a statement uses are sent (PostgreSQL rejects an unused, untyped one).
    const all = async <R>(text: string, n = 2): Promise<R[]> => [...(await this.sql.unsafe(text, args.slice(0, n)))] as R[]
    const one = async (text: string, n = 2): Promise<number> => (await all<{ n: number }>(text, n))[0]?.n ?? 0
    const [
      nowRows,
      created,
      createdSeries,
      endedSeries,
      endedByReason,
      liveAtFrom,
      activeWorkers,
      withAgent,
      withAgentCount,
      usageTotal,
      usageSeries,
      byModel,
      byUser,
      topSessions,
    ] = await Promise.all([
      all<StatsRows['now'][number]>(`SELECT status, count(*) AS n FROM sessions GROUP BY status`, 0),
      all<StatsRows['created'][number]>(`SELECT status, pattern, count(*) AS n FROM sessions WHERE ${IN_RANGE('created_at')} GROUP BY status, pattern`),
      all<StatsRows['createdSeries'][number]>(
        `SELECT ${BUCKET('created_at')} AS t, pattern, count(*) AS n FROM sessions WHERE ${IN_RANGE('created_at')} GROUP BY 1, pattern`,
        3,
      ),
      all<StatsRows['endedSeries'][number]>(
        `SELECT ${BUCKET('ended_at')} AS t, status, count(*) AS n FROM sessions
         WHERE ${IN_RANGE('ended_at')} AND status IN ${ENDED} GROUP BY 1, status`,
        3,
      ),
      all<StatsRows['endedByReason'][number]>(
        `SELECT coalesce(end_reason, status) AS reason, count(*) AS count FROM sessions
         WHERE ${IN_RANGE('ended_at')} AND status IN ${ENDED}
         GROUP BY 1 ORDER BY 2 DESC, coalesce(end_reason, status) COLLATE "C" LIMIT ${TOP_REASONS}`,
      ),
      one(
        `SELECT count(*) AS n FROM sessions WHERE created_at < $1
         AND NOT (status IN ${ENDED} AND ended_at IS NOT NULL AND ended_at < $1)`,
        1,
      ),
      one(`SELECT count(*) AS n FROM sessions WHERE status = 'active' AND ${HAS_AGENT}`, 0),
      all<StatsRows['withAgent'][number]>(
        `SELECT id, status FROM sessions WHERE ${IN_RANGE('created_at')} AND ${HAS_AGENT}
         ORDER BY created_at DESC, id COLLATE "C" DESC LIMIT ${RESTART_SCAN + 1}`,
      ),
      one(`SELECT count(*) AS n FROM sessions WHERE ${IN_RANGE('created_at')} AND ${HAS_AGENT}`),
      all<NonNullable<StatsRows['usageTotal']>>(
        `SELECT ${USAGE_COLUMNS}, count(*) FILTER (WHERE m.status = 'error') AS errors FROM model_calls m WHERE ${CALLS_IN_RANGE}`,
      ),
      all<StatsRows['usageSeries'][number]>(
        `SELECT ${BUCKET('m.started_at')} AS t, ${USAGE_COLUMNS} FROM model_calls m WHERE ${CALLS_IN_RANGE} GROUP BY 1`,
        3,
      ),
      all<UsageRow>(
        `SELECT m.model AS key, ${USAGE_COLUMNS} FROM model_calls m WHERE ${CALLS_IN_RANGE}
         GROUP BY m.model ORDER BY "costUsd" DESC, calls DESC, m.model COLLATE "C" LIMIT ${TOP_USAGE}`,
      ),
      all<UsageRow>(
        `SELECT s.created_by AS key, ${USAGE_COLUMNS} FROM model_calls m LEFT JOIN sessions s ON s.id = m.session_id
         WHERE ${CALLS_IN_RANGE} GROUP BY s.created_by
         ORDER BY "costUsd" DESC, calls DESC, s.created_by COLLATE "C" NULLS FIRST LIMIT ${TOP_USAGE}`,
      ),
      // Grouped by s.id too (the same groups: the join is on it) so the session's columns may be selected.
      all<TopSession>(
        `SELECT m.session_id AS id, s.title AS title, s.status AS status, s.pattern AS pattern, s.created_by AS "createdBy",
         ${USAGE_COLUMNS} FROM model_calls m LEFT JOIN sessions s ON s.id = m.session_id
         WHERE ${CALLS_IN_RANGE} GROUP BY m.session_id, s.id
         ORDER BY "costUsd" DESC, calls DESC, m.session_id COLLATE "C" LIMIT ${TOP_SESSIONS}`,
      ),
    ])
    const rows: StatsRows = {
      now: nowRows,
      created,
      createdSeries,
      endedSeries,
      endedByReason,
      liveAtFrom,
      activeWorkers,
      withAgent,
      withAgentCount,
      usageTotal: usageTotal[0],
      usageSeries,
      byModel,
      byUser,
      topSessions,
    }
    return assembleSummary(range, now, rows, await this.restarts.total(restartScan(rows)))
  }
}

/** The route on PostgreSQL: admin only, then the bounded queries. */
export function createPgStatsSummaryHandler(sql: Sql, now: () => number = Date.now) {
  const summaries = new PgStatsSummaries(sql)
  return async (req: Request, claims: TokenClaims): Promise<Response> => {
    requireAdmin(claims)
    const at = now()
    return json(await summaries.summarize(parseStatsRange(new URL(req.url).searchParams, at), at))
  }
}
