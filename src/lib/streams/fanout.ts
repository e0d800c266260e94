import { LiveEvent } from './live-event'

export type LiveSubscriber = (event: LiveEvent) => void

interface Subscription {
  readonly fn: LiveSubscriber
  /** Absolute index of the first queued batch this subscriber has not been handed yet. */
  next: number
}

/**
 * The live fan-out of one stream, done in slices. Committed batches queue here; a sweep walks the
 * subscribers (a persistent Set iterator, so it can stop after any subscriber and go on in a later
 * turn) and hands each everything it has not had yet as ONE event. A subscriber that is still
 * behind when more batches commit (the sweep had not reached it) thus gets one merged event, one
 * socket write, instead of one per batch; the merged event is built once per start index and
 * shared by every subscriber starting there, so its encoded frames are shared too.
 *
 * Order and exactly-once per subscriber: `next` only moves forward, and a subscriber is handed
 * [next, end) with `prev` = the tail before `next`, so its reader can tell a batch it already has
 * (it read further from SQLite) from one it must write, as with unmerged events.
 */
export class StreamFanout {
  readonly subs = new Set<Subscription>()
  private queue: LiveEvent[] = []
  /** Absolute index of queue[0]. */
  private base = 0
  private sweep: Iterator<Subscription> | null = null
  /** `end` when the current sweep began: every subscriber has at least this once it finishes. */
  private sweepFrom = 0
  private merged = new Map<number, LiveEvent>()
  private mergedEnd = -1

  constructor(
    readonly streamId: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  private get end(): number {
    return this.base + this.queue.length
  }

  /** True while committed batches wait for some subscriber. */
  get busy(): boolean {
    return this.queue.length > 0
  }

  /**
   * Joins at the oldest batch not yet handed to everyone, like a subscriber that joined between a
   * commit and its delivery always did: its reader drops what its own SQLite read already covered.
   */
  add(fn: LiveSubscriber): Subscription {
    const sub: Subscription = { fn, next: this.base }
    this.subs.add(sub)
    return sub
  }

  push(ev: LiveEvent): void {
    this.queue.push(ev)
  }

  /**
   * Hands batches to at most `budget` subscribers that are behind; returns how many it handed
   * (so the hub can share one budget between streams) and whether work remains.
   */
  step(budget: number): { used: number; more: boolean } {
    let used = 0
    while (used < budget) {
      if (!this.sweep) {
        if (this.queue.length === 0) return { used, more: false }
        this.sweep = this.subs.values()
        this.sweepFrom = this.end
      }
      const r = this.sweep.next()
      if (r.done) {
        this.sweep = null
        this.trim()
        continue
      }
      const sub = r.value
      const end = this.end
      if (sub.next >= end) continue
      const ev = this.eventFrom(sub.next, end)
      sub.next = end
      used++
      try {
        sub.fn(ev)
      } catch (err) {
        this.onError(err)
      }
    }
    return { used, more: this.sweep !== null || this.queue.length > 0 }
  }

  /** After a full sweep every subscriber has had everything before sweepFrom. */
  private trim(): void {
    const drop = this.sweepFrom - this.base
    if (drop <= 0) return
    this.queue.splice(0, drop)
    this.base = this.sweepFrom
    this.merged.clear()
  }

  /** Batches [start, end) as one event: the batch itself when it is one, else a shared merge. */
  private eventFrom(start: number, end: number): LiveEvent {
    if (end - start === 1) return this.queue[start - this.base]!
    if (this.mergedEnd !== end) {
      this.merged.clear()
      this.mergedEnd = end
    }
    let ev = this.merged.get(start)
    if (!ev) {
      const first = this.queue[start - this.base]!
      const last = this.queue[end - 1 - this.base]!
      ev = new LiveEvent(this.streamId, first.prev, last.tail)
      let contiguous = true
      for (let i = start - this.base; i < end - this.base; i++) {
        const part = this.queue[i]!
        if (i > start - this.base && part.prev.seq !== this.queue[i - 1]!.tail.seq) contiguous = false
        for (const row of part.rows) ev.rows.push(row)
        if (part.closed) ev.closed = true
        if (part.deleted) ev.deleted = true
      }
      // A wake from another node (pg-engine.ts) carries no rows and no real `prev`: a merge
      // across it would skip data, so the merged event only tells readers to re-read.
      if (!contiguous) {
        ev = new LiveEvent(this.streamId, { seq: -1, pos: -1 }, last.tail)
        ev.deleted = this.queue.slice(start - this.base, end - this.base).some((part) => part.deleted)
      }
      this.merged.set(start, ev)
    }
    return ev
  }

  /** Drops every queued batch (server shutdown). */
  clear(): void {
    this.queue = []
    this.sweep = null
    this.merged.clear()
  }
}
