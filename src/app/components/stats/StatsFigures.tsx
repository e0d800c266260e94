/**
 * The dashboard's numbers: headline figures (each with `data-testid` and its exact value in
 * `data-value`, so a test compares them with the API), the status / pattern breakdowns, and the
 * usage tables (per model, per user, top sessions with links).
 */
import type { ReactNode } from 'react'
import { Link } from '@tanstack/react-router'
import type { StatsSummary, UsageRow } from '../../../lib/ops/stats-summary-types'
import { formatCount, formatUsd } from '../format'

export const formatPercent = (rate: number) => `${(rate * 100).toFixed(rate > 0 && rate < 0.1 ? 1 : 0)}%`

function Figure({ id, label, value, shown, hint }: { id: string; label: string; value: number; shown: ReactNode; hint?: ReactNode }) {
  return (
    <div className="stats-figure card">
      <div className="stats-figure-label">{label}</div>
      <div className="stats-figure-value" data-testid={`stat-${id}`} data-value={value}>
        {shown}
      </div>
      {hint ? <div className="stats-figure-hint">{hint}</div> : null}
    </div>
  )
}

export function HeadlineFigures({ s }: { s: StatsSummary }) {
  const e = s.errors
  return (
    <section className="stats-figures" aria-label="Headline figures">
      <Figure id="sessions-created" label="Sessions created" value={s.sessions.created} shown={formatCount(s.sessions.created)} hint={`${s.sessions.ended} ended`} />
      <Figure
        id="sessions-active"
        label="Active now"
        value={s.sessions.now.active}
        shown={formatCount(s.sessions.now.active)}
        hint={`${s.sessions.now.idle} idle · ${s.sessions.now.total} in all`}
      />
      <Figure id="workers-active" label="Active workers" value={s.workers.active} shown={formatCount(s.workers.active)} hint="active sessions with an agent" />
      <Figure
        id="tokens"
        label="Tokens"
        value={s.usage.tokensIn + s.usage.tokensOut}
        shown={formatCount(s.usage.tokensIn + s.usage.tokensOut)}
        hint={`${formatCount(s.usage.tokensIn)} in · ${formatCount(s.usage.tokensOut)} out`}
      />
      <Figure id="cost" label="Model cost" value={s.usage.costUsd} shown={formatUsd(s.usage.costUsd)} hint={`${formatCount(s.usage.calls)} calls`} />
      <Figure
        id="failure-rate"
        label="Sessions failed"
        value={e.sessionFailureRate}
        shown={formatPercent(e.sessionFailureRate)}
        hint={`${e.sessionsFailed} of ${s.sessions.ended} ended`}
      />
      <Figure
        id="model-error-rate"
        label="Model call errors"
        value={e.modelErrorRate}
        shown={formatPercent(e.modelErrorRate)}
        hint={`${e.modelErrors} of ${s.usage.calls} calls`}
      />
      <Figure
        id="worker-restarts"
        label="Worker crashes"
        value={e.workerRestarts}
        shown={`${formatCount(e.workerRestarts)}${e.restartsTruncated ? '+' : ''}`}
        hint={`${e.crashRate.toFixed(2)} per session with an agent`}
      />
    </section>
  )
}

function Bars({ title, counts, testId }: { title: string; counts: Record<string, number>; testId: string }) {
  const max = Math.max(1, ...Object.values(counts))
  return (
    <div className="card stats-bars" data-testid={testId}>
      <h2>{title}</h2>
      <ul>
        {Object.entries(counts).map(([k, n]) => (
          <li key={k}>
            <span className="stats-bars-label">{k}</span>
            <span className="stats-bars-track" aria-hidden="true">
              <span className={`stats-bars-fill stats-bars-${k}`} style={{ width: `${(n / max) * 100}%` }} />
            </span>
            <span className="stats-bars-n" data-testid={`${testId}-${k}`} data-value={n}>
              {n}
            </span>
          </li>
        ))}
      </ul>
    </div>
  )
}

export function Breakdowns({ s }: { s: StatsSummary }) {
  return (
    <section className="stats-grid-2">
      <Bars title="Created in range, by status now" counts={s.sessions.byStatus} testId="by-status" />
      <Bars title="Created in range, by pattern" counts={s.sessions.byPattern} testId="by-pattern" />
    </section>
  )
}

function UsageTable({ title, keyLabel, rows, testId, none }: { title: string; keyLabel: string; rows: UsageRow[]; testId: string; none: string }) {
  return (
    <div className="card stats-table" data-testid={testId}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p className="muted">No model calls in this range.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{keyLabel}</th>
              <th scope="col">Calls</th>
              <th scope="col">Tokens</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key ?? ''}>
                <td className="mono">{r.key ?? none}</td>
                <td>{r.calls}</td>
                <td>{formatCount(r.tokensIn + r.tokensOut)}</td>
                <td data-value={r.costUsd}>{formatUsd(r.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

export function UsageTables({ s }: { s: StatsSummary }) {
  return (
    <section className="stats-grid-2">
      <UsageTable title="Per model" keyLabel="Model" rows={s.usage.byModel} testId="by-model" none="(unknown)" />
      <UsageTable title="Per user" keyLabel="User" rows={s.usage.byUser} testId="by-user" none="(no creator)" />
    </section>
  )
}

export function TopSessions({ s }: { s: StatsSummary }) {
  return (
    <div className="card stats-table" data-testid="top-sessions">
      <h2>Top sessions by cost</h2>
      {s.topSessions.length === 0 ? (
        <p className="muted">No model calls in this range.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Session</th>
              <th scope="col" className="hide-mobile">
                Pattern
              </th>
              <th scope="col" className="hide-mobile">
                By
              </th>
              <th scope="col">Calls</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {s.topSessions.map((t) => (
              <tr key={t.id} data-testid="top-session" data-id={t.id}>
                <td>
                  {t.status ? (
                    <Link to="/sessions/$sessionId" params={{ sessionId: t.id }}>
                      {t.title ?? t.id}
                    </Link>
                  ) : (
                    <span className="muted">{t.id} (deleted)</span>
                  )}
                </td>
                <td className="hide-mobile">{t.pattern ?? '–'}</td>
                <td className="hide-mobile mono">{t.createdBy ?? '–'}</td>
                <td>{t.calls}</td>
                <td data-value={t.costUsd}>{formatUsd(t.costUsd)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}
