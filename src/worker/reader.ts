/**
 * Reads the session stream live with the Durable Streams client: from the start (or a given
 * offset), every batch is handed over in order together with the offset after it. The first
 * batch marked up-to-date resolves `caughtUp`. A dropped connection resumes from the last offset
 * handled; 401/403/404/410 end the reader (token revoked, session deleted).
 */
import { stream, type JsonBatch } from '@durable-streams/client'
import { httpFetch } from './http-fetch'
import { log } from './log'

export interface ReaderOptions {
  streamUrl: string
  token: string
  offset?: string
  onBatch: (items: readonly unknown[], offset: string) => void
  /** Called once when the stream can no longer be read. */
  onEnd: (reason: { status?: number; message: string }) => void
  fetch?: typeof fetch
}

const FATAL_STATUSES = new Set([401, 403, 404, 410])

function statusOf(err: unknown): number | undefined {
  const status = (err as { status?: unknown })?.status
  return typeof status === 'number' ? status : undefined
}

export class SessionReader {
  offset: string
  private readonly controller = new AbortController()
  private resolveCaughtUp!: () => void
  readonly caughtUp: Promise<void> = new Promise((r) => (this.resolveCaughtUp = r))
  private waiters: Array<{ offset: string; resolve: () => void }> = []
  private ended = false

  constructor(private readonly options: ReaderOptions) {
    this.offset = options.offset ?? '-1'
  }

  start(): void {
    void this.run()
  }

  /** Resolves once everything up to `offset` has been handed to onBatch. */
  waitFor(offset: string | undefined): Promise<void> {
    if (!offset || this.offset >= offset || this.ended) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push({ offset, resolve }))
  }

  stop(): void {
    this.ended = true
    this.controller.abort()
    for (const w of this.waiters) w.resolve()
    this.waiters = []
  }

  private async run(): Promise<void> {
    let failures = 0
    while (!this.ended) {
      try {
        const response = await stream<unknown>({
          url: this.options.streamUrl,
          offset: this.offset,
          live: true,
          json: true,
          headers: { authorization: `Bearer ${this.options.token}` },
          signal: this.controller.signal,
          // node:http, not undici (http-fetch.ts: worker density).
          fetch: this.options.fetch ?? httpFetch,
          warnOnHttp: false,
        })
        const unsubscribe = response.subscribeJson((batch: JsonBatch<unknown>) => {
          failures = 0
          this.handle(batch)
        })
        await response.closed
        unsubscribe()
        if (response.streamClosed) {
          this.finish({ message: 'session stream closed' })
          return
        }
      } catch (err) {
        if (this.ended) return
        const status = statusOf(err)
        if (status !== undefined && FATAL_STATUSES.has(status)) {
          this.finish({ status, message: err instanceof Error ? err.message : String(err) })
          return
        }
        failures++
        const delay = Math.min(5_000, 100 * 2 ** Math.min(failures, 6))
        log.warn({ error: err instanceof Error ? err.message : String(err), offset: this.offset, delay }, 'stream read failed, resuming')
        await new Promise((r) => setTimeout(r, delay))
      }
    }
  }

  private handle(batch: JsonBatch<unknown>): void {
    if (this.ended) return
    this.options.onBatch(batch.items, batch.offset)
    if (batch.offset) this.offset = batch.offset
    if (batch.upToDate) this.resolveCaughtUp()
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => this.offset >= w.offset)
      this.waiters = this.waiters.filter((w) => this.offset < w.offset)
      for (const w of ready) w.resolve()
    }
  }

  private finish(reason: { status?: number; message: string }): void {
    if (this.ended) return
    this.ended = true
    this.resolveCaughtUp()
    for (const w of this.waiters) w.resolve()
    this.waiters = []
    this.options.onEnd(reason)
  }
}
