/**
 * Everything the worker writes goes through one IdempotentProducer (producer id
 * `agent:<agentId>`, one per session worker) as State Protocol events. Its epoch is chosen above
 * every timestamp this agent ever wrote (found by replaying the stream), and every event's
 * timestamp is at least the epoch, so each restart claims a strictly larger epoch than the run
 * before: retries within a run are deduplicated by (epoch, seq), and a zombie from an earlier run
 * is fenced (403) and exits. Network errors, 5xx and 429 are retried with the same (epoch, seq),
 * which the server deduplicates (a 429 after the server's Retry-After: its rate limit refills then); a fence or an unrecoverable error ends the worker, and the restarted
 * worker regenerates whatever did not reach the stream.
 */
import { DurableStream, IdempotentProducer, StaleEpochError } from '@durable-streams/client'
import { retryAfterMs } from '../lib/common/backoff'
import { immutableEventId, isImmutableChannel } from '../lib/common/session-contract'
import { LEASE_EPOCH_BASE } from '../lib/workers/session-leases'
import type { Channel, Operation } from './events'
import { httpFetch } from './http-fetch'
import { log } from './log'
import { withTurnRequestId, type TurnRequestId } from './request-id'

const RETRY_BASE_MS = 100
const RETRY_MAX_MS = 5_000
const RETRY_BUDGET_MS = 60_000

/** fetch that retries network failures, 5xx and 429 (same request, so the same producer seq); a 429 waits its Retry-After. */
export function retryingFetch(inner: typeof fetch = httpFetch): typeof fetch {
  return async (input, init) => {
    const started = Date.now()
    for (let attempt = 0; ; attempt++) {
      let retryable: string
      let serverWait: number | null = null
      try {
        const response = await inner(input, init)
        if (response.status < 500 && response.status !== 429) return response
        // A rate limit (429) is waited out however long it lasts: the server is up and says when.
        if (response.status !== 429 && Date.now() - started > RETRY_BUDGET_MS) return response
        retryable = `HTTP ${response.status}`
        if (response.status === 429) serverWait = retryAfterMs(response)
        await response.body?.cancel()
      } catch (err) {
        if (init?.signal?.aborted || Date.now() - started > RETRY_BUDGET_MS) throw err
        retryable = err instanceof Error ? err.message : String(err)
      }
      const delay = Math.max(Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** attempt), serverWait ?? 0)
      log.warn({ reason: retryable, attempt, delay }, 'append failed, retrying')
      await new Promise((r) => setTimeout(r, delay))
    }
  }
}

export interface PublisherOptions {
  streamUrl: string
  token: string
  agentId: string
  epoch: number
  /** Called once when publishing can no longer succeed (fenced, auth lost, stream gone). */
  onFatal: (error: Error) => void
  fetch?: typeof fetch
  /** Whose turn rides on appends as the request id (one per hosted agent; request-id.ts). */
  requestId?: TurnRequestId
}

export class Publisher {
  private readonly producer: IdempotentProducer
  private counter = 0
  private fatal: Error | null = null
  private detached = false
  readonly producerId: string

  constructor(private readonly options: PublisherOptions) {
    // The running turn's request id rides on every append (request-id.ts).
    const fetchImpl = retryingFetch(withTurnRequestId(options.fetch ?? httpFetch, options.requestId))
    const handle = new DurableStream({
      url: options.streamUrl,
      headers: { authorization: `Bearer ${options.token}` },
      contentType: 'application/json',
      fetch: fetchImpl,
    })
    this.producerId = `agent:${options.agentId}`
    this.producer = new IdempotentProducer(handle, this.producerId, {
      epoch: options.epoch,
      autoClaim: false,
      // Coalesces events written within a few ms (chunk + tool-call + state) into one POST.
      lingerMs: 10,
      // Raw session appends are capped at 1 MiB and 1,000 events (specs/security.md); every
      // envelope is well over 131 bytes, so 128 KiB batches stay under both.
      maxBatchBytes: 128 * 1024,
      // One batch in flight keeps appends strictly ordered.
      maxInFlight: 1,
      fetch: fetchImpl,
      onError: (error) => this.fail(error),
    })
  }

  get epoch(): number {
    return this.producer.epoch
  }

  /** The stream offset after the last acknowledged batch. */
  get lastOffset(): string | undefined {
    return this.producer.lastSuccessfulOffset
  }

  private fail(error: Error): void {
    if (this.fatal) return
    this.fatal = error
    const fenced = error instanceof StaleEpochError && error.currentEpoch > this.options.epoch
    log.error({ error: error.message }, fenced ? 'fenced by a newer worker for this session' : 'publishing failed')
    this.options.onFatal(error)
  }

  /**
   * A timestamp for an event: never below the epoch (see the class comment). A lease's epoch
   * (from 2^44, session-leases.ts) is no time: such runs stamp the clock, and the next run finds
   * their epoch in the event ids (SessionView.maxOwnEpoch).
   */
  now(): number {
    return this.options.epoch >= LEASE_EPOCH_BASE ? Date.now() : Math.max(Date.now(), this.options.epoch)
  }

  /**
   * Queues one event. `value.id` is the key. Immutable channels (chunk, terminal) use
   * `<channel>:<id>` as event id, so the same line written twice is one event; upserts get a
   * fresh id per write.
   */
  publish<T extends { id: string; timestamp?: number }>(channel: Channel, value: T, operation?: Operation): void {
    if (this.fatal || this.detached) return
    const timestamp = value.timestamp ?? this.now()
    const immutable = isImmutableChannel(channel)
    const eventId = immutable ? immutableEventId(channel, value.id) : `${this.producerId}:${this.producer.epoch}:${++this.counter}`
    const event = {
      type: channel,
      key: value.id,
      value: { ...value, timestamp },
      headers: { operation: operation ?? (immutable ? 'insert' : 'upsert'), timestamp: new Date(timestamp).toISOString(), eventId },
    }
    try {
      this.producer.append(JSON.stringify(event))
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)))
    }
  }

  /** Resolves when everything queued so far is acknowledged. */
  async flush(): Promise<void> {
    if (this.fatal) throw this.fatal
    await this.producer.flush()
    if (this.fatal) throw this.fatal
  }

  /** Flushes and stops the producer; never closes the stream (close() would). */
  async detach(): Promise<void> {
    this.detached = true
    await this.producer.detach()
  }
}
