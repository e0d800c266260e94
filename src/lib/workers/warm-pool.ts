/**
 * A pool of started, idle workers (no session yet) for one runtime. take() hands one out at once
 * and refills in the background, so a new session's worker only needs its claim. A pooled worker
 * that dies is dropped and replaced.
 */
import type { WorkerInfo, WorkerRuntime } from './runtime'

export interface WarmPoolOptions {
  runtime: WorkerRuntime
  size: number
  /**
   * Wait this long after a claim before starting the replacement, so the new worker does not
   * compete for CPU and disk with the claimed one's start (a docker create copies the image).
   */
  refillDelayMs?: number
  onError?: (err: unknown) => void
}

export class WarmPool {
  private readonly idle: WorkerInfo[] = []
  private starting = 0
  private closed = false
  private readonly unsubscribe: () => void
  private filling: Promise<void> = Promise.resolve()

  constructor(private readonly options: WarmPoolOptions) {
    this.unsubscribe = options.runtime.onExit((exit) => {
      const i = this.idle.findIndex((w) => w.id === exit.id)
      if (i < 0) return
      this.idle.splice(i, 1)
      void this.options.runtime.stop(exit.id).catch(() => {})
      this.fill()
    })
  }

  get size(): number {
    return this.options.size
  }

  /** Idle workers ready to claim. */
  get available(): number {
    return this.idle.length
  }

  /** Starts workers until `size` are idle or starting; resolves when those started. */
  fill(): Promise<void> {
    const missing = this.options.size - this.idle.length - this.starting
    if (this.closed || missing <= 0) return this.filling
    const starts: Promise<void>[] = []
    for (let i = 0; i < missing; i++) {
      this.starting++
      starts.push(
        this.options.runtime
          .start()
          .then((worker) => {
            if (this.closed) return void this.options.runtime.stop(worker.id).catch(() => {})
            this.idle.push(worker)
          })
          .catch((err: unknown) => this.options.onError?.(err))
          .finally(() => {
            this.starting--
          }),
      )
    }
    this.filling = Promise.all([this.filling, ...starts]).then(() => {})
    return this.filling
  }

  /** An idle worker (removed from the pool), or null when none is ready. */
  take(): WorkerInfo | null {
    const worker = this.idle.shift() ?? null
    if (worker) {
      const delay = this.options.refillDelayMs ?? 0
      if (delay > 0) setTimeout(() => void this.fill(), delay).unref()
      else void this.fill()
    }
    return worker
  }

  /** Stops the idle workers and stops refilling. */
  async close(): Promise<void> {
    this.closed = true
    this.unsubscribe()
    await this.filling.catch(() => {})
    const idle = this.idle.splice(0)
    await Promise.all(idle.map((w) => this.options.runtime.stop(w.id, { graceMs: 1_000 }).catch(() => {})))
  }
}
