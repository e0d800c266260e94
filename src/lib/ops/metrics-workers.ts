/**
 * Worker metrics. Events (starts, restarts, exits) are observed on the runtimes themselves, which
 * the supervisor drives: each runtime's start / claim / restart / stop is wrapped in place (extra
 * members such as docker's removeOrphanVolumes stay as they are) and its onExit is subscribed to.
 * State (workers by runtime and phase, warm pool) is read from the supervisor's public state when
 * Prometheus scrapes. All of it counts from zero at every server start.
 */
import type { Registry } from 'prom-client'
import { EXIT_FENCED, EXIT_STOPPED } from '../common/session-contract'
import type { RuntimeKind, WorkerRuntime } from '../workers/runtime'
import { FastHistogram, scrapeMetric, START_BUCKETS, type Sample } from './metrics-registry'

/** How a worker came to serve (or wait): `cold` = started for a session, `warm` = a pool worker claimed, `pool` = started idle for the pool. */
type StartKind = 'cold' | 'warm' | 'pool'
/** Why a worker exited: asked to stop, ended itself (EXIT_STOPPED), fenced (EXIT_FENCED), or anything else: crashed. */
type ExitReason = 'stop-requested' | 'stopped' | 'fenced' | 'crashed'

/** What the metrics need of the supervisor (its public state), duck-typed so any callbacks object may be passed. */
export interface SupervisorView {
  workerOf(sessionId: string): { runtime: RuntimeKind; phase: string } | null
  /** Every worker unit of a session (one per agent outside single-container, issue #15). */
  workersOf?(sessionId: string): { runtime: RuntimeKind; phase: string }[]
  pool(kind: RuntimeKind): { size: number; available: number } | undefined
  /** Session leases this node holds and may hold (issue 14, workers/supervisor-leases.ts); null on one node. */
  leaseState?(): { nodeId: string; capacity: number; held: number; draining: boolean } | null
}

export function isSupervisorView(x: unknown): x is SupervisorView {
  const o = x as Partial<SupervisorView> | null
  return typeof o?.workerOf === 'function' && typeof o.pool === 'function'
}

const key = (...parts: string[]) => parts.join('\u0000')

export class WorkerMetrics {
  private readonly starts = new Map<string, number>()
  private readonly startLatency = new Map<string, FastHistogram>()
  private readonly restarts = new Map<string, number>()
  private readonly exits = new Map<string, number>()
  private readonly observed = new WeakSet<WorkerRuntime>()

  private bump(map: Map<string, number>, k: string): void {
    map.set(k, (map.get(k) ?? 0) + 1)
  }

  private timed<T>(kind: RuntimeKind, how: StartKind, started: number, result: T): T {
    this.bump(this.starts, key(kind, how))
    const k = key(kind, how)
    let h = this.startLatency.get(k)
    if (!h) this.startLatency.set(k, (h = new FastHistogram(START_BUCKETS)))
    h.observe((performance.now() - started) / 1000)
    return result
  }

  /** Wraps a runtime's lifecycle calls in place (once) and subscribes to its exits. */
  observe(runtime: WorkerRuntime): WorkerRuntime {
    if (this.observed.has(runtime)) return runtime
    this.observed.add(runtime)
    const kind = runtime.kind
    // Ids the supervisor asked to stop: their exit is not a crash.
    const stopping = new Set<string>()
    const start = runtime.start.bind(runtime)
    const claim = runtime.claim.bind(runtime)
    const restart = runtime.restart.bind(runtime)
    const stop = runtime.stop.bind(runtime)
    runtime.start = (c, options) => {
      const t0 = performance.now()
      return start(c, options).then((info) => this.timed(kind, c ? 'cold' : 'pool', t0, info))
    }
    runtime.claim = (id, c) => {
      const t0 = performance.now()
      return claim(id, c).then((info) => this.timed(kind, 'warm', t0, info))
    }
    runtime.restart = (id, c) =>
      restart(id, c).then((info) => {
        this.bump(this.restarts, kind)
        return info
      })
    runtime.stop = (id, options) => {
      stopping.add(id)
      return stop(id, options)
    }
    runtime.onExit((exit) => {
      let reason: ExitReason = 'crashed'
      if (stopping.delete(exit.id)) reason = 'stop-requested'
      else if (exit.exitCode === EXIT_STOPPED) reason = 'stopped'
      else if (exit.exitCode === EXIT_FENCED) reason = 'fenced'
      this.bump(this.exits, key(kind, reason))
    })
    return runtime
  }

  register(registry: Registry, supervisor: () => SupervisorView | null, liveSessions: () => string[] | Promise<string[]>): void {
    const split = (k: string) => k.split('\u0000')
    const fromMap = (map: Map<string, number>, names: string[]) => () =>
      [...map].map(([k, value]) => ({ labels: Object.fromEntries(split(k).map((v, i) => [names[i], v])), value }))
    scrapeMetric(
      registry,
      'tether_worker_starts_total',
      'Workers started (cold: for a session; warm: a pool worker claimed; pool: started idle)',
      'counter',
      fromMap(this.starts, ['runtime', 'how']),
    )
    scrapeMetric(
      registry,
      'tether_worker_restarts_total',
      'Workers restarted after a crash or at server start',
      'counter',
      fromMap(this.restarts, ['runtime']),
    )
    scrapeMetric(
      registry,
      'tether_worker_exits_total',
      'Worker exits by reason: stop-requested, stopped (exit 0), fenced (exit 75), crashed (anything else)',
      'counter',
      fromMap(this.exits, ['runtime', 'reason']),
    )
    scrapeMetric(registry, 'tether_worker_crashes_total', 'Worker exits nobody asked for with a crash exit code or signal', 'counter', () =>
      [...this.exits].filter(([k]) => split(k)[1] === 'crashed').map(([k, value]) => ({ labels: { runtime: split(k)[0] }, value })),
    )
    scrapeMetric(registry, 'tether_worker_start_duration_seconds', 'Time for a runtime to start or hand over a worker', 'histogram', () =>
      [...this.startLatency].flatMap(([k, h]) => {
        const [runtime, how] = split(k)
        return h.samples('tether_worker_start_duration_seconds', { runtime, how })
      }),
    )
    scrapeMetric(
      registry,
      'tether_workers',
      'Workers serving live sessions (one per agent outside single-container), by runtime and phase (starting, running, backoff, stopping)',
      'gauge',
      async () => {
        const s = supervisor()
        if (!s) return []
        const counts = new Map<string, number>()
        for (const id of await liveSessions()) {
          const main = s.workerOf(id)
          for (const w of s.workersOf?.(id) ?? (main ? [main] : [])) {
            counts.set(key(w.runtime, w.phase), (counts.get(key(w.runtime, w.phase)) ?? 0) + 1)
          }
        }
        return [...counts].map(([k, value]) => ({ labels: { runtime: split(k)[0], phase: split(k)[1] }, value }))
      },
    )
    scrapeMetric(registry, 'tether_worker_warm_pool', 'Warm pool per runtime: idle workers available, and the target size', 'gauge', () => {
      const s = supervisor()
      const out: Sample[] = []
      for (const runtime of ['process', 'docker'] as const) {
        const pool = s?.pool(runtime)
        if (!pool) continue
        out.push({ labels: { runtime, kind: 'available' }, value: pool.available })
        out.push({ labels: { runtime, kind: 'target' }, value: pool.size })
      }
      return out
    })
    scrapeMetric(
      registry,
      'tether_node_sessions',
      'Sessions whose lease this node holds (held) and may hold (capacity), with several nodes on one database',
      'gauge',
      () => {
        const state = supervisor()?.leaseState?.()
        if (!state) return []
        const node = state.nodeId
        return [
          { labels: { node, kind: 'held' }, value: state.held },
          { labels: { node, kind: 'capacity' }, value: state.draining ? 0 : state.capacity },
        ]
      },
    )
  }
}

/** Observes the runtimes a supervisor is given (instances or lazy factories). */
export function observeRuntimes<T extends Partial<Record<RuntimeKind, WorkerRuntime | (() => Promise<WorkerRuntime>)>>>(
  runtimes: T,
  metrics: WorkerMetrics | undefined,
): T {
  if (!metrics) return runtimes
  const out: Partial<Record<RuntimeKind, WorkerRuntime | (() => Promise<WorkerRuntime>)>> = {}
  for (const [kind, source] of Object.entries(runtimes) as [RuntimeKind, WorkerRuntime | (() => Promise<WorkerRuntime>)][]) {
    out[kind] = typeof source === 'function' ? () => source().then((r) => metrics.observe(r)) : metrics.observe(source)
  }
  return out as T
}
