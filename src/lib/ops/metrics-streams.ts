/**
 * Streams metrics, fed by the store's lifecycle listener (after each commit) and read from
 * `sseStats()` at scrape time. The listener only adds numbers: appends and group commits are the
 * server's hottest path. All of it counts from zero at every server start.
 */
import type { Registry } from 'prom-client'
import type { StreamLifecycleListener } from '../streams'
import type { StreamsCore } from '../streams/streams-frontend'
import { BATCH_BUCKETS, FastHistogram, scrapeMetric } from './metrics-registry'

export class StreamMetrics implements StreamLifecycleListener {
  appends = 0
  bytes = 0
  readonly batches = new FastHistogram(BATCH_BUCKETS)

  onAppended(_path: string, _tailOffset: string, bytes?: number): void {
    this.appends++
    if (bytes !== undefined) this.bytes += bytes
  }

  onBatchCommitted(ops: number): void {
    this.batches.observe(ops)
  }

  register(registry: Registry, streams: Pick<StreamsCore, 'sseStats'>, longPollWaiting: () => number): void {
    scrapeMetric(registry, 'tether_stream_appends_total', 'Appends committed to any stream (session streams and others)', 'counter', () => [
      { value: this.appends },
    ])
    scrapeMetric(
      registry,
      'tether_stream_appended_bytes_total',
      'Bytes those appends stored (JSON text for JSON streams)',
      'counter',
      () => [{ value: this.bytes }],
    )
    scrapeMetric(
      registry,
      'tether_stream_commit_batch_ops',
      'Write operations per SQLite group commit (all writes queued in one event-loop turn share one transaction)',
      'histogram',
      () => this.batches.samples('tether_stream_commit_batch_ops'),
    )
    scrapeMetric(registry, 'tether_stream_live_readers', 'Readers waiting for new data now, by mode', 'gauge', () => [
      { labels: { mode: 'sse' }, value: streams.sseStats().readers },
      { labels: { mode: 'long-poll' }, value: longPollWaiting() },
    ])
    scrapeMetric(
      registry,
      'tether_sse_buffered_bytes',
      'Bytes queued on the server for SSE readers now (fan-out lag in bytes: what readers have not taken yet)',
      'gauge',
      () => [{ value: streams.sseStats().bufferedBytes }],
    )
    scrapeMetric(
      registry,
      'tether_sse_stalled_readers',
      'SSE readers at their buffer bound now (out of the fan-out until they drain)',
      'gauge',
      () => [{ value: streams.sseStats().stalled }],
    )
    scrapeMetric(registry, 'tether_sse_cutoffs_total', 'Slow SSE readers cut off (they resume from their offset)', 'counter', () => [
      { value: streams.sseStats().cutOffs },
    ])
    scrapeMetric(
      registry,
      'tether_sse_dropped_total',
      'SSE readers dropped because they never took the end of their response',
      'counter',
      () => [{ value: streams.sseStats().dropped }],
    )
  }
}
