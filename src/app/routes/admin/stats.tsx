/**
 * /admin/stats: the operator's dashboard (admins of all sessions). Everything on it comes from
 * one call, `GET /api/sessions/stats/summary` for the chosen range ending now, repeated every
 * few seconds; anyone else gets a clear "admins only" page and no request for figures.
 */
import { useMemo } from 'react'
import { Link, createFileRoute, useNavigate } from '@tanstack/react-router'
import uplotCss from 'uplot/dist/uPlot.min.css?url'
import { AppHeader } from '../../components/AppHeader'
import { formatCount, formatUsd } from '../../components/format'
import { ErrorState, Skeleton } from '../../components/states'
import { Breakdowns, HeadlineFigures, TopSessions, UsageTables } from '../../components/stats/StatsFigures'
import { TimeChart, type ChartSeries } from '../../components/stats/TimeChart'
import { UserQuotas } from '../../components/stats/UserQuotas'
import { useStatsSummary } from '../../hooks/use-stats-summary'
import { useAdminToken } from '../../hooks/use-admin-token'
import type { StatsBucket, StatsSummary } from '../../../lib/ops/stats-summary-types'
import { parseTokenSearch } from '../../token-search'

const HOUR = 3_600_000
const DAY = 24 * HOUR
export const STATS_RANGES = {
  '24h': { label: 'Last 24 hours', spanMs: DAY, bucket: 'hour' },
  '7d': { label: 'Last 7 days', spanMs: 7 * DAY, bucket: 'hour' },
  '30d': { label: 'Last 30 days', spanMs: 30 * DAY, bucket: 'day' },
  '90d': { label: 'Last 90 days', spanMs: 90 * DAY, bucket: 'day' },
} as const satisfies Record<string, { label: string; spanMs: number; bucket: StatsBucket }>
type RangeKey = keyof typeof STATS_RANGES
const REFRESH_MS = 5_000

interface StatsSearch {
  token?: string
  range?: RangeKey
}

export const Route = createFileRoute('/admin/stats')({
  validateSearch: (s: Record<string, unknown>): StatsSearch => ({
    ...parseTokenSearch(s),
    ...(typeof s.range === 'string' && s.range in STATS_RANGES ? { range: s.range as RangeKey } : {}),
  }),
  head: () => ({ meta: [{ title: 'Stats · Tether' }], links: [{ rel: 'stylesheet', href: uplotCss }] }),
  component: StatsPage,
})

function Charts({ s }: { s: StatsSummary }) {
  const times = useMemo(() => s.series.map((p) => p.t), [s])
  const sessions = useMemo<ChartSeries[]>(
    () => [
      { label: 'Created', colorVar: '--accent', values: s.series.map((p) => p.created), bars: true },
      { label: 'Ended', colorVar: '--warn', values: s.series.map((p) => p.ended) },
      { label: 'Failed', colorVar: '--danger', values: s.series.map((p) => p.endedByStatus.failed) },
      { label: 'Live', colorVar: '--ok', values: s.series.map((p) => p.live) },
    ],
    [s],
  )
  const patterns = useMemo<ChartSeries[]>(
    () => [
      { label: 'ephemeral', colorVar: '--info', values: s.series.map((p) => p.createdByPattern.ephemeral) },
      { label: 'long-running', colorVar: '--accent', values: s.series.map((p) => p.createdByPattern['long-running']) },
      { label: 'hybrid', colorVar: '--ok', values: s.series.map((p) => p.createdByPattern.hybrid) },
      { label: 'single-container', colorVar: '--warn', values: s.series.map((p) => p.createdByPattern['single-container']) },
    ],
    [s],
  )
  const usage = useMemo<ChartSeries[]>(
    () => [
      { label: 'Tokens', colorVar: '--accent', values: s.series.map((p) => p.tokensIn + p.tokensOut), bars: true, format: formatCount },
      { label: 'Cost', colorVar: '--warn', values: s.series.map((p) => p.costUsd), right: true, format: formatUsd },
    ],
    [s],
  )
  const per = s.range.bucket === 'hour' ? 'hour' : 'day'
  return (
    <section className="stats-grid-2">
      <TimeChart title={`Sessions per ${per}`} times={times} series={sessions} testId="chart-sessions" />
      <TimeChart title={`Created per ${per}, by pattern`} times={times} series={patterns} testId="chart-patterns" />
      <TimeChart title={`Tokens and cost per ${per}`} times={times} series={usage} testId="chart-usage" />
      <TopSessions s={s} />
    </section>
  )
}

function StatsPage() {
  const search = Route.useSearch()
  const navigate = useNavigate({ from: '/admin/stats' })
  const { token, ready, isAdmin } = useAdminToken(search.token)
  const rangeKey: RangeKey = search.range ?? '7d'
  const range = STATS_RANGES[rangeKey]
  const { summary, error, loading, refresh } = useStatsSummary(token, range, { enabled: ready && isAdmin, refreshMs: REFRESH_MS })
  const refused = (ready && !isAdmin) || error?.status === 401 || error?.status === 403

  return (
    <div className="app">
      <AppHeader>Stats</AppHeader>
      <main className="page stats-page">
        <div className="page-head">
          <div>
            <h1>Stats</h1>
            <p>Sessions, workers, model spend and failures, live (refreshed every {REFRESH_MS / 1000} s).</p>
          </div>
          {refused ? null : (
            <div className="stats-controls">
              <label htmlFor="stats-range" className="sr-only">
                Time range
              </label>
              <select
                id="stats-range"
                className="select"
                data-testid="stats-range-picker"
                value={rangeKey}
                onChange={(e) => void navigate({ search: (prev) => ({ ...prev, token: undefined, range: e.target.value as RangeKey }), replace: true })}
              >
                {Object.entries(STATS_RANGES).map(([k, r]) => (
                  <option key={k} value={k}>
                    {r.label}
                  </option>
                ))}
              </select>
            </div>
          )}
        </div>
        {refused ? (
          <div className="card">
            <ErrorState
              title="Admins only"
              detail={
                <>
                  These figures cover every session and user, so only an admin token for all sessions may see them. Open the admin link the server
                  printed (or run <code>npm run tether -- link</code>).
                </>
              }
              action={
                <Link to="/" className="btn">
                  Go to sessions
                </Link>
              }
            />
          </div>
        ) : !summary ? (
          error ? (
            <div className="card">
              <ErrorState
                title="Couldn’t load the stats"
                detail={error.message}
                action={
                  <button type="button" className="btn" onClick={refresh}>
                    Try again
                  </button>
                }
              />
            </div>
          ) : (
            <div className="card" style={{ padding: 16, display: 'grid', gap: 12 }} aria-busy={loading}>
              <Skeleton width="60%" />
              <Skeleton width="45%" />
            </div>
          )
        ) : (
          <div className="stats-body" data-testid="stats" data-from={summary.range.from} data-to={summary.range.to} data-bucket={summary.range.bucket}>
            {error ? (
              <p className="stats-stale" role="status">
                Showing the figures of {new Date(summary.generatedAt).toLocaleTimeString()}: {error.message}
              </p>
            ) : null}
            <HeadlineFigures s={summary} />
            <Charts s={summary} />
            <Breakdowns s={summary} />
            <UsageTables s={summary} />
            <UserQuotas token={token} />
          </div>
        )}
      </main>
    </div>
  )
}
