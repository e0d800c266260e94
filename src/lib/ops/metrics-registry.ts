/**
 * The cheap half of /metrics: hot paths (appends, group commits, HTTP requests) bump plain numbers
 * and fixed bucket arrays, and prom-client reads them only when Prometheus scrapes. A prom-client
 * Counter or Histogram would hash its labels on every call; these cost an add and a compare.
 */
import type { Registry } from 'prom-client'

export interface Sample {
  labels?: Record<string, string | number>
  value: number
  /** For histogram lines (`<name>_bucket`, `_sum`, `_count`). */
  metricName?: string
}

export type MetricType = 'counter' | 'gauge' | 'histogram'

/**
 * Registers a metric whose samples are computed at scrape time (prom-client's registry only needs
 * name, help, type and `get()`). The name carries its unit (`_seconds`, `_bytes`, `_total`).
 */
export function scrapeMetric(
  registry: Registry,
  name: string,
  help: string,
  type: MetricType,
  samples: () => Sample[] | Promise<Sample[]>,
): void {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    get: async () => ({ name, help, type, values: await samples(), aggregator: 'sum' }),
    reset() {},
  }
  // prom-client types registerMetric for its own classes; the registry itself only calls get().
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}

/** A histogram with fixed upper bounds: observe() is a short scan and two adds, no allocation. */
export class FastHistogram {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length)
  }

  observe(value: number): void {
    this.sum += value
    this.count++
    const b = this.bounds
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]) {
        this.counts[i]++
        return
      }
    }
  }

  /** Prometheus histogram lines (cumulative buckets, +Inf, _sum, _count) for `name`. */
  samples(name: string, labels: Record<string, string> = {}): Sample[] {
    const out: Sample[] = []
    let cumulative = 0
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: this.bounds[i] }, value: cumulative })
    }
    out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: this.count })
    out.push({ metricName: `${name}_sum`, labels, value: this.sum })
    out.push({ metricName: `${name}_count`, labels, value: this.count })
    return out
  }
}

/** Latency buckets in seconds, 1 ms to 10 s. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
/** Worker start buckets in seconds (a warm claim is milliseconds, a cold container seconds). */
export const START_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60]
/** Operations per group commit. */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024]
