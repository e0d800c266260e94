/**
 * HTTP metrics: every request the app answers, counted by route class and status code, with
 * its latency (time to the response's headers: an SSE or long-poll body that streams on is not
 * in it). Route classes are a fixed list, never raw paths: a label per session id or stream name
 * would grow without bound and sink Prometheus.
 */
import type { Registry } from 'prom-client'
import { FastHistogram, scrapeMetric, SECONDS_BUCKETS, type Sample } from './metrics-registry'

export const ROUTE_CLASSES = [
  'streams-read',
  'streams-append',
  'streams-other',
  'writer',
  'sessions-api',
  'model',
  'auth',
  'health',
  'other',
] as const
export type RouteClass = (typeof ROUTE_CLASSES)[number]

/** Index into ROUTE_CLASSES (numbers, so the hot path looks nothing up by string). */
export function routeClassOf(method: string, pathname: string): number {
  if (pathname.startsWith('/api/streams/') || pathname.startsWith('/v1/stream/')) {
    if (method === 'GET' || method === 'HEAD') return 0
    return method === 'POST' ? 1 : 2
  }
  if (pathname === '/api/streams' || pathname === '/api/streams/') return 3
  if (pathname === '/api/sessions' || pathname.startsWith('/api/sessions/')) return pathname.endsWith('/model') ? 5 : 4
  if (pathname.startsWith('/api/auth/')) return 6
  if (pathname === '/api/health' || pathname === '/api/ready' || pathname === '/metrics') return 7
  return 8
}

export class HttpMetrics {
  /** Per route class: status code → requests. */
  private readonly byCode: Array<Map<number, number>> = ROUTE_CLASSES.map(() => new Map())
  private readonly latency: FastHistogram[] = ROUTE_CLASSES.map(() => new FastHistogram(SECONDS_BUCKETS))
  /** Long-poll reads waiting now (their response is the wait's end). */
  longPollWaiting = 0

  record(route: number, status: number, seconds: number): void {
    const m = this.byCode[route]
    m.set(status, (m.get(status) ?? 0) + 1)
    this.latency[route].observe(seconds)
  }

  register(registry: Registry): void {
    scrapeMetric(registry, 'tether_http_requests_total', 'HTTP requests answered, by route class and status code', 'counter', () => {
      const out: Sample[] = []
      this.byCode.forEach((m, i) => {
        for (const [code, n] of m) out.push({ labels: { route: ROUTE_CLASSES[i], code }, value: n })
      })
      return out
    })
    scrapeMetric(
      registry,
      'tether_http_request_duration_seconds',
      'Time from request to response headers (SSE and long-poll bodies stream on after it), by route class',
      'histogram',
      () =>
        this.latency.flatMap((h, i) => (h.count > 0 ? h.samples('tether_http_request_duration_seconds', { route: ROUTE_CLASSES[i] }) : [])),
    )
  }
}
