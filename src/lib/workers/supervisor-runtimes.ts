/**
 * The supervisor's runtimes: each created on first use (the docker one connects to the engine
 * and builds the image then), subscribed to for worker exits, and given its warm pool.
 */
import type { Logger } from '../common/logger'
import type { RuntimeKind, WorkerExit, WorkerRuntime } from './runtime'
import { WarmPool } from './warm-pool'

export type RuntimeSource = WorkerRuntime | (() => Promise<WorkerRuntime>)

export const DEFAULT_WARM_POOL: Record<RuntimeKind, number> = { process: 0, docker: 2 }
/** A claimed worker starts undisturbed before its replacement is created. */
const REFILL_DELAY_MS: Record<RuntimeKind, number> = { process: 200, docker: 1_000 }

export interface SupervisorRuntimesOptions {
  sources: Partial<Record<RuntimeKind, RuntimeSource>>
  /** Warm pool size per runtime (default DEFAULT_WARM_POOL). */
  warmPool?: Partial<Record<RuntimeKind, number>>
  onExit(kind: RuntimeKind, exit: WorkerExit): void
  /** A runtime created after the supervisor closed gets no pool. */
  isClosed(): boolean
  log: Logger
}

export class SupervisorRuntimes {
  private readonly runtimes = new Map<RuntimeKind, Promise<WorkerRuntime>>()
  private readonly pools = new Map<RuntimeKind, WarmPool>()
  private readonly unsubscribers: Array<() => void> = []

  constructor(private readonly options: SupervisorRuntimesOptions) {}

  get(kind: RuntimeKind): Promise<WorkerRuntime> {
    let ready = this.runtimes.get(kind)
    if (!ready) {
      const source = this.options.sources[kind]
      if (!source) return Promise.reject(new Error(`worker runtime ${kind} is not configured on this server`))
      ready = (typeof source === 'function' ? source() : Promise.resolve(source)).then((runtime) => {
        this.unsubscribers.push(runtime.onExit((exit) => this.options.onExit(kind, exit)))
        const size = this.options.warmPool?.[kind] ?? DEFAULT_WARM_POOL[kind]
        if (size > 0 && !this.options.isClosed()) {
          const pool = new WarmPool({
            runtime,
            size,
            refillDelayMs: REFILL_DELAY_MS[kind],
            onError: (err) => this.options.log.warn({ err, runtime: kind }, 'warm worker failed to start'),
          })
          this.pools.set(kind, pool)
          void pool.fill()
        }
        return runtime
      })
      ready.catch(() => this.runtimes.delete(kind))
      this.runtimes.set(kind, ready)
    }
    return ready
  }

  pool(kind: RuntimeKind): WarmPool | undefined {
    return this.pools.get(kind)
  }

  /** Stops the idle warm workers (first on close: none may be claimed any more). */
  async closePools(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close()))
  }

  /** Unsubscribes and releases the runtimes (after the workers were stopped). */
  async close(): Promise<void> {
    for (const unsubscribe of this.unsubscribers) unsubscribe()
    for (const ready of this.runtimes.values()) await ready.then((r) => r.close()).catch(() => {})
  }
}
