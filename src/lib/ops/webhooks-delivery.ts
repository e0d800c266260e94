/**
 * Delivers `__tether/lifecycle` events to each webhook endpoint: one loop per endpoint (in order,
 * one request at a time), reading from the endpoint's stored cursor, so a crash resends what was
 * not yet settled (at-least-once; receivers dedupe by the event id). Nothing here is on a session's
 * path: the manager only appends the event; a slow or dead receiver holds up its own loop, never
 * a session or another endpoint. Each attempt has a timeout; failures retry with the
 * subscriptions' backoff (1 s doubling to 60 s, ±20 %) up to `maxAttempts`, then the event is
 * logged as failed (an admin may replay it) and the loop moves on.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../common/logger'
import { readJsonToTail, type StreamsEndpoint } from '../sessions/streams-client'
import type { WebhookPoster } from '../streams/subscriptions/deliver'
import { retryDelayMs } from '../streams/subscriptions/retry'
import type { WebhookSigner } from '../streams/subscriptions/signing'
import { whenReady } from '../streams/engine'
import { LIFECYCLE_STREAM, type LifecycleEvent, type LifecycleLog } from './lifecycle'
import type { Delivery, WebhookEndpoint, WebhookStore } from './webhooks-store'

export interface DispatcherOptions {
  store: WebhookStore
  streams: StreamsEndpoint
  lifecycle: LifecycleLog
  signer: WebhookSigner
  post: WebhookPoster
  now: () => number
  logger: Logger
  /** Per attempt (default 10 s). */
  timeoutMs?: number
  /** Attempts before an event is given up as failed (default 10, about 5 minutes of retries). */
  maxAttempts?: number
  /** Delay before retry `n` (default: the subscriptions' schedule). */
  retryDelay?: (attempt: number) => number
}

const matches = (ep: WebhookEndpoint, e: LifecycleEvent) => ep.events.length === 0 || ep.events.includes(e.type)

class EndpointLoop {
  private dirty = true
  private wakeUp: (() => void) | null = null
  private readonly stop = new AbortController()

  constructor(
    readonly id: string,
    private readonly opts: DispatcherOptions,
  ) {
    void this.run()
  }

  wake(): void {
    this.dirty = true
    this.wakeUp?.()
  }

  close(): void {
    this.stop.abort()
    this.wakeUp?.()
  }

  private get stopped(): boolean {
    return this.stop.signal.aborted
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.dirty) {
        await new Promise<void>((resolve) => {
          this.wakeUp = resolve
        })
        this.wakeUp = null
        continue
      }
      this.dirty = false
      try {
        await this.drain()
      } catch (err) {
        if (this.stopped) return
        this.opts.logger.warn({ err, endpoint: this.id }, 'webhook loop could not read lifecycle events; retrying')
        this.dirty = true
        await sleep(1_000, undefined, { signal: this.stop.signal }).catch(() => undefined)
      }
    }
  }

  private async drain(): Promise<void> {
    const ep = await this.opts.store.get(this.id)
    if (!ep) return this.close()
    const read = await readJsonToTail(this.opts.streams, LIFECYCLE_STREAM, ep.cursorOffset)
    for (let i = ep.cursorSkip; i < read.messages.length; i++) {
      const event = read.messages[i] as LifecycleEvent
      if (matches(ep, event) && !(await this.deliver(ep, event))) return
      await this.opts.store.setCursor(ep.id, ep.cursorOffset, i + 1)
    }
    if (read.nextOffset !== ep.cursorOffset) await this.opts.store.setCursor(ep.id, read.nextOffset, 0)
  }

  /** True once the event is settled (delivered or given up); false when stopped meanwhile. */
  private async deliver(ep: WebhookEndpoint, event: LifecycleEvent): Promise<boolean> {
    const max = this.opts.maxAttempts ?? 10
    const first = ((await this.opts.store.lastAttempt(ep.id, event.id))?.attempt ?? 0) + 1
    for (let n = 1; ; n++) {
      if (this.stopped) return false
      const last = n >= max
      const d = await attempt(this.opts, ep, event, first + n - 1, last ? 'failed' : 'retrying', this.stop.signal)
      if (this.stopped && d.outcome !== 'delivered') return false
      if (d.outcome !== 'retrying') return true
      const delay = (this.opts.retryDelay ?? retryDelayMs)(n)
      await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined)
    }
  }
}

/** One signed POST, logged. `onFailure`: the outcome to log if it fails. */
async function attempt(
  opts: DispatcherOptions,
  ep: WebhookEndpoint,
  event: LifecycleEvent,
  n: number,
  onFailure: 'retrying' | 'failed',
  stop?: AbortSignal,
): Promise<Delivery> {
  const body = JSON.stringify(event)
  const timeoutMs = opts.timeoutMs ?? 10_000
  const signal = stop ? AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs)
  let status: number | null = null
  let error: string | null = null
  try {
    const res = await opts.post({
      url: ep.url,
      body,
      signal,
      headers: {
        'content-type': 'application/json',
        'webhook-signature': opts.signer.signatureHeader(body, opts.now()),
        'webhook-id': event.id,
        'webhook-event': event.type,
      },
    })
    status = res.status
    if (status < 200 || status > 299) error = `receiver answered ${status}`
  } catch (err) {
    error = signal.aborted && !stop?.aborted ? `no answer within ${timeoutMs} ms` : err instanceof Error ? err.message : String(err)
  }
  const outcome = error === null ? 'delivered' : onFailure
  if (error !== null) opts.logger.warn({ endpoint: ep.id, eventId: event.id, attempt: n, error }, 'webhook delivery failed')
  return await opts.store.logAttempt({ endpointId: ep.id, eventId: event.id, eventType: event.type, attempt: n, status, outcome, error })
}

export class WebhookDispatcher {
  private readonly loops = new Map<string, EndpointLoop>()
  private readonly unsubscribe: () => void
  private closed = false

  constructor(private readonly opts: DispatcherOptions) {
    // SQLite answers at once (loops start in this turn, as before); PostgreSQL a moment later.
    whenReady(
      opts.store.list(),
      (eps) => {
        for (const ep of eps) if (!this.closed) this.added(ep.id)
      },
      (err) => opts.logger.error({ err }, 'could not list webhook endpoints; none are delivering'),
    )
    this.unsubscribe = opts.lifecycle.onAppend(() => {
      for (const loop of this.loops.values()) loop.wake()
    })
  }

  added(id: string): void {
    if (!this.loops.has(id)) this.loops.set(id, new EndpointLoop(id, this.opts))
  }

  removed(id: string): void {
    this.loops.get(id)?.close()
    this.loops.delete(id)
  }

  /** Sends one event again now (one attempt, logged); null when the endpoint or event is unknown. */
  async replay(endpointId: string, eventId: string): Promise<Delivery | null> {
    const ep = await this.opts.store.get(endpointId)
    if (!ep) return null
    const { messages } = await readJsonToTail(this.opts.streams, LIFECYCLE_STREAM, '-1')
    const event = (messages as LifecycleEvent[]).find((e) => e.id === eventId)
    if (!event) return null
    const n = ((await this.opts.store.lastAttempt(ep.id, event.id))?.attempt ?? 0) + 1
    return attempt(this.opts, ep, event, n, 'failed')
  }

  close(): void {
    this.closed = true
    this.unsubscribe()
    for (const loop of this.loops.values()) loop.close()
    this.loops.clear()
  }
}
