import type { Position } from './offsets'
import { LiveEvent } from './live-event'
import { StreamFanout, type LiveSubscriber } from './fanout'
import type { Logger } from '../common/logger'

export { LiveEvent, type SsePayloadKind } from './live-event'
export type { LiveSubscriber } from './fanout'

export interface LiveHubOptions {
  /**
   * Subscribers handed a batch per event-loop turn, over all streams. Each is about one socket
   * write (5-10 µs on this box), so 256 keep a turn to a few ms: appends, acknowledgements and
   * new readers get the loop between slices instead of waiting for 10,000 writes.
   */
  sliceSize?: number
}

export const DEFAULT_FANOUT_SLICE = 256

/**
 * In-process notifier: one fan-out per stream id (fanout.ts). Writers stage events while their
 * transaction runs; `publish` queues them after the commit, and the fan-out hands them to the
 * subscribers a slice per turn, merging the batches a subscriber fell behind on into one event.
 */
export class LiveHub {
  private readonly sliceSize: number
  constructor(
    private readonly log: Logger,
    opts: LiveHubOptions = {},
  ) {
    this.sliceSize = Math.max(1, opts.sliceSize ?? DEFAULT_FANOUT_SLICE)
  }

  private fanouts = new Map<number, StreamFanout>()
  private staged = new Map<number, LiveEvent>()
  /** Fan-outs with batches still to hand out, served round-robin. */
  private active = new Set<StreamFanout>()
  private deliveryScheduled = false
  private readonly onError = (err: unknown) => this.log.error({ err }, 'live subscriber failed')
  private readonly idleListeners = new Set<(streamId: number) => void>()

  /** `fn` hears of each stream whose last live reader on this node left (per-stream state can go). */
  onStreamIdle(fn: (streamId: number) => void): void {
    this.idleListeners.add(fn)
  }

  private drop(fanout: StreamFanout): void {
    if (this.fanouts.get(fanout.streamId) !== fanout) return
    this.fanouts.delete(fanout.streamId)
    for (const fn of this.idleListeners) fn(fanout.streamId)
  }

  subscribe(streamId: number, fn: LiveSubscriber): () => void {
    let fanout = this.fanouts.get(streamId)
    if (!fanout) {
      fanout = new StreamFanout(streamId, this.onError)
      this.fanouts.set(streamId, fanout)
    }
    const sub = fanout.add(fn)
    const owner = fanout
    return () => {
      owner.subs.delete(sub)
      // A fan-out mid-delivery is dropped when its sweep ends (deliver) instead.
      if (owner.subs.size === 0 && !owner.busy) this.drop(owner)
    }
  }

  /** Streams with live readers on this node now. */
  subscribedStreams(): number[] {
    return [...this.fanouts].filter(([, f]) => f.subs.size > 0).map(([id]) => id)
  }

  hasSubscribers(streamId: number): boolean {
    return (this.fanouts.get(streamId)?.subs.size ?? 0) > 0
  }

  /** Records (part of) a committed change; call from an after-commit hook. */
  stage(streamId: number, prev: Position, tail: Position, change: { row?: Buffer; closed?: boolean; deleted?: boolean }): void {
    let ev = this.staged.get(streamId)
    if (!ev) {
      ev = new LiveEvent(streamId, prev, tail)
      this.staged.set(streamId, ev)
    }
    ev.tail = tail
    if (change.row) ev.rows.push(change.row)
    if (change.closed) ev.closed = true
    if (change.deleted) ev.deleted = true
  }

  /**
   * Queues the staged events for delivery from the next turn of the event loop, not now:
   * publish runs right after the commit, before the writers' promises continue, so delivering
   * here would make every acknowledgement wait for the fan-out to every reader (one socket
   * write each). Batches keep their commit order per stream.
   */
  publish(): void {
    if (this.staged.size === 0) return
    for (const ev of this.staged.values()) {
      const fanout = this.fanouts.get(ev.streamId)
      // No subscriber now: a reader joining later reads this batch from SQLite first.
      if (!fanout || fanout.subs.size === 0) continue
      fanout.push(ev)
      this.active.add(fanout)
    }
    this.staged = new Map()
    this.schedule()
  }

  private schedule(): void {
    if (this.deliveryScheduled || this.active.size === 0) return
    this.deliveryScheduled = true
    setImmediate(() => this.deliver())
  }

  /** Hands out one slice: up to sliceSize subscribers over the active streams, then yields the loop. */
  private deliver(): void {
    this.deliveryScheduled = false
    let budget = this.sliceSize
    for (const fanout of this.active) {
      const { used, more } = fanout.step(budget)
      budget -= used
      if (!more) {
        this.active.delete(fanout)
        if (fanout.subs.size === 0) this.drop(fanout)
      } else {
        // Round-robin: a stream with 10,000 readers does not hold back the next stream's few.
        this.active.delete(fanout)
        this.active.add(fanout)
      }
      if (budget <= 0) break
    }
    this.schedule()
  }

  /** Wakes every subscriber of every stream with a synthetic deletion (server shutdown). */
  closeAll(): void {
    this.active.clear()
    for (const [id, fanout] of this.fanouts) {
      fanout.clear()
      const ev = new LiveEvent(id, { seq: 0, pos: 0 }, { seq: 0, pos: 0 })
      ev.deleted = true
      for (const sub of [...fanout.subs]) sub.fn(ev)
    }
    this.fanouts.clear()
  }
}
