/**
 * `GET /metrics` in the Prometheus text format (prom-client), one registry per app (tests build
 * many apps in one process; prom-client's global registry would mix them). Metrics come from the
 * app's seams, not from calls sprinkled through hot paths: the HTTP handler is wrapped here, the
 * streams store reports through its lifecycle listener, the session manager through its worker
 * callbacks (proxied), the worker runtimes through their own calls (wrapped once), and the rest is
 * read from the database and the supervisor's public state when Prometheus scrapes.
 * specs/operations.md lists every metric and which survive a restart.
 *
 * Who may scrape: an admin token, or the separate scraper secret TETHER_METRICS_TOKEN (so a
 * Prometheus config never holds an admin token). With TETHER_METRICS=off nothing is counted and
 * /metrics answers 404.
 */
import { timingSafeEqual } from 'node:crypto'
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Authenticator } from '../sessions/auth'
import { requireAdmin } from '../sessions/auth'
import { errorResponse, HttpError } from '../sessions/http'
import type { SessionWorkerCallbacks } from '../sessions/worker-callbacks'
import type { StreamsCore } from '../streams/streams-frontend'
import { HttpMetrics, routeClassOf } from './metrics-http'
import { SessionMetrics, type MetricsDbReader } from './metrics-db'
import { StreamMetrics } from './metrics-streams'
import { isSupervisorView, WorkerMetrics } from './metrics-workers'

export const METRICS_PATH = '/metrics'

export interface MetricsOptions {
  /** Default true (TETHER_METRICS). */
  enabled?: boolean
  /** A bearer secret for scrapers besides admin tokens (TETHER_METRICS_TOKEN). */
  token?: string
}

export interface MetricsParts {
  auth: Authenticator
  streams: StreamsCore | null
  /** The database's reads (either engine) and the SQLite file (null: nothing on disk to measure). */
  db: { reader: MetricsDbReader; file: string | null }
  /** Live sessions (workers by phase). */
  store: { live(): Array<{ id: string }> | Promise<Array<{ id: string }>> }
  /** The worker callbacks (the supervisor, when workers are on). */
  callbacks: SessionWorkerCallbacks
}

type Handler = (req: Request) => Promise<Response>

export interface AppMetrics {
  readonly enabled: boolean
  /** For the worker callbacks factory: observes the runtimes it creates (undefined when off). */
  readonly workers: WorkerMetrics | undefined
  /** The manager's callbacks with session created/ended counted. */
  sessionCallbacks(inner: SessionWorkerCallbacks): SessionWorkerCallbacks
  /** Registers the scrape-time metrics once the app's parts exist. */
  attach(parts: MetricsParts): void
  /** The app's handler, counted and timed, with `GET /metrics` in front. */
  serve(inner: Handler): Handler
}

function bearer(req: Request): string | null {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.get('authorization')?.trim() ?? '')
  return m ? m[1].trim() : null
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The path of an absolute request URL without building a URL object (this runs on every request). */
function pathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('//') + 2)
  if (start < 0) return '/'
  const q = url.indexOf('?', start)
  return q < 0 ? url.slice(start) : url.slice(start, q)
}

export function createAppMetrics(options: MetricsOptions = {}): AppMetrics {
  if (options.enabled === false) {
    return {
      enabled: false,
      workers: undefined,
      sessionCallbacks: (inner) => inner,
      attach() {},
      serve: (inner) => (req) =>
        pathOf(req.url) === METRICS_PATH
          ? Promise.resolve(errorResponse(new HttpError(404, 'metrics are off on this server (TETHER_METRICS=off)')))
          : inner(req),
    }
  }
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'tether_' })
  const http = new HttpMetrics()
  const sessions = new SessionMetrics()
  const streams = new StreamMetrics()
  const workers = new WorkerMetrics()
  http.register(registry)
  let auth: Authenticator | null = null

  async function scrape(req: Request): Promise<Response> {
    if (req.method !== 'GET') return errorResponse(new HttpError(405, 'GET /metrics only'))
    const token = bearer(req)
    if (!(options.token && token && sameSecret(token, options.token))) {
      if (!auth) return errorResponse(new HttpError(503, 'metrics are not ready yet'))
      try {
        requireAdmin(await auth.authenticate(req))
      } catch (err) {
        if (err instanceof HttpError) return errorResponse(err)
        throw err
      }
    }
    return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType, 'cache-control': 'no-store' } })
  }

  return {
    enabled: true,
    workers,
    sessionCallbacks: (inner) => sessions.observe(inner),
    attach(parts) {
      auth = parts.auth
      const { db, store } = parts
      sessions.registerFrom(registry, db.reader, db.file)
      const supervisor = isSupervisorView(parts.callbacks) ? parts.callbacks : null
      workers.register(
        registry,
        () => supervisor,
        async () => (await store.live()).map((s) => s.id),
      )
      if (parts.streams) {
        parts.streams.addListener(streams)
        streams.register(registry, parts.streams, () => http.longPollWaiting)
      }
    },
    serve: (inner) => async (req) => {
      const path = pathOf(req.url)
      const route = routeClassOf(req.method, path)
      const t0 = performance.now()
      // A long-poll read is waiting for data until its response: count it as a live reader meanwhile.
      const longPoll = route === 0 && req.url.includes('live=long-poll')
      if (longPoll) http.longPollWaiting++
      let status = 500
      try {
        const res = path === METRICS_PATH ? await scrape(req) : await inner(req)
        status = res.status
        return res
      } finally {
        if (longPoll) http.longPollWaiting--
        http.record(route, status, (performance.now() - t0) / 1000)
      }
    },
  }
}
