/**
 * Metrics read from the database when Prometheus scrapes, so they survive restarts: sessions by
 * status and pattern, model tokens and cost by provider and model (the gateway's ledger,
 * `model_calls`), and the SQLite file and WAL sizes (SQLite only). The reads go through a
 * MetricsDbReader so PostgreSQL (metrics-db-pg.ts) serves the same metrics. Plus the session lifecycle counters (created,
 * ended by reason), which count from zero at every start: they are the manager's callbacks, seen
 * through a proxy around the worker callbacks.
 */
import { statSync } from 'node:fs'
import type Database from 'better-sqlite3'
import type { Registry } from 'prom-client'
import type { SessionWorkerCallbacks } from '../sessions/worker-callbacks'
import type { SessionRecord } from '../sessions/session-types'
import type { MaybePromise } from '../streams/engine'
import { scrapeMetric, type Sample } from './metrics-registry'

/** End reasons as labels: a terminate request's free-text reason must not become a label value. */
const KNOWN_REASONS: Record<string, string> = {
  completed: 'completed',
  failed: 'failed',
  terminated: 'terminated',
  deleted: 'deleted',
  'stream-closed': 'stream-closed',
  'limit:idle': 'idle',
  'limit:lifetime': 'lifetime',
  'limit:budget': 'budget',
  'limit:turns': 'turns',
}

export function endReasonLabel(session: SessionRecord, reason: string): string {
  return KNOWN_REASONS[reason] ?? (session.status === 'terminated' ? 'terminated' : session.status === 'failed' ? 'failed' : 'other')
}

export interface SessionCountRow {
  status: string
  pattern: string
  n: number
}

/** One model's settled usage; rows come most expensive first, ties by model name (bytewise). */
export interface ModelUsageRow {
  model: string
  tin: number
  tout: number
  cost: number
}

/**
 * What the scrape reads from the database. SQLite answers synchronously; PostgreSQL
 * (metrics-db-pg.ts) with a promise, which prom-client's async collect awaits.
 */
export interface MetricsDbReader {
  sessionsByStatus(): MaybePromise<SessionCountRow[]>
  modelUsage(): MaybePromise<ModelUsageRow[]>
}

export function sqliteMetricsReader(sqlite: Database.Database): MetricsDbReader {
  const byStatus = sqlite.prepare<[], SessionCountRow>('SELECT status, pattern, count(*) AS n FROM sessions GROUP BY status, pattern')
  // Settled calls only: a running call's cost is its reservation, not money spent yet.
  const usage = sqlite.prepare<[], ModelUsageRow>(
    `SELECT model, sum(input_tokens) AS tin, sum(output_tokens) AS tout, sum(cost_usd) AS cost
     FROM model_calls WHERE status != 'running' GROUP BY model ORDER BY sum(cost_usd) DESC, model`,
  )
  return { sessionsByStatus: () => byStatus.all(), modelUsage: () => usage.all() }
}

/** At most this many model labels; the rest are summed as `other` (model names come from session configs). */
const MAX_MODELS = 50

export class SessionMetrics {
  created = 0
  readonly ended = new Map<string, number>()

  /** The callbacks with created/ended counted; every other member passes through unchanged. */
  observe(inner: SessionWorkerCallbacks): SessionWorkerCallbacks {
    const onCreated = (session: SessionRecord) => {
      this.created++
      return inner.onSessionCreated?.(session)
    }
    const onEnded = (session: SessionRecord, reason: string) => {
      const label = endReasonLabel(session, reason)
      this.ended.set(label, (this.ended.get(label) ?? 0) + 1)
      return inner.onSessionEnded?.(session, reason)
    }
    return new Proxy(inner, {
      get(target, prop) {
        if (prop === 'onSessionCreated') return onCreated
        if (prop === 'onSessionEnded') return onEnded
        const value: unknown = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  }

  /** Registers with any engine's reader; `file` (SQLite only) adds the file and WAL sizes. */
  registerFrom(registry: Registry, reader: MetricsDbReader, file: string | null): void {
    scrapeMetric(registry, 'tether_sessions_created_total', 'Sessions created since this server started', 'counter', () => [
      { value: this.created },
    ])
    scrapeMetric(registry, 'tether_sessions_ended_total', 'Sessions ended since this server started, by reason', 'counter', () =>
      [...this.ended].map(([reason, value]) => ({ labels: { reason }, value })),
    )
    scrapeMetric(registry, 'tether_sessions', 'Sessions in the database by status and pattern', 'gauge', async () =>
      (await reader.sessionsByStatus()).map((r) => ({
        labels: { status: r.status, pattern: r.pattern },
        value: r.n,
      })),
    )
    const usageRows = async () => {
      const rows = await reader.modelUsage()
      const kept = rows.slice(0, MAX_MODELS)
      const rest = rows.slice(MAX_MODELS)
      if (rest.length > 0) {
        kept.push(
          rest.reduce((a, r) => ({ model: 'other', tin: a.tin + r.tin, tout: a.tout + r.tout, cost: a.cost + r.cost }), {
            model: 'other',
            tin: 0,
            tout: 0,
            cost: 0,
          }),
        )
      }
      return kept.map((r) => {
        const colon = r.model.indexOf(':')
        return { ...r, labels: { provider: colon > 0 ? r.model.slice(0, colon) : r.model, model: r.model } }
      })
    }
    scrapeMetric(
      registry,
      'tether_model_tokens_total',
      'Model tokens through the gateway, by provider, model and direction (from the ledger: survives restarts)',
      'counter',
      async () =>
        (await usageRows()).flatMap((r): Sample[] => [
          { labels: { ...r.labels, direction: 'in' }, value: r.tin },
          { labels: { ...r.labels, direction: 'out' }, value: r.tout },
        ]),
    )
    scrapeMetric(
      registry,
      'tether_model_cost_usd_total',
      'Model spend in US dollars, by provider and model (from the ledger: survives restarts)',
      'counter',
      async () => (await usageRows()).map((r) => ({ labels: r.labels, value: r.cost })),
    )
    if (file === null) return
    const size = (path: string) => {
      try {
        return statSync(path).size
      } catch {
        return 0
      }
    }
    scrapeMetric(registry, 'tether_sqlite_file_bytes', 'Size of the SQLite database file and of its write-ahead log', 'gauge', () => [
      { labels: { file: 'db' }, value: size(file) },
      { labels: { file: 'wal' }, value: size(`${file}-wal`) },
    ])
  }
}
