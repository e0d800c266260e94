import { encodeOffset, type Position } from './offsets'
import { frameJsonRows } from './json-framing'
import { sseControlEvent, sseDataEvent } from './sse'
import { currentInterval } from './cursor'
import type { Logger } from '../common/logger'

export type SsePayloadKind = 'text' | 'json' | 'base64'

/**
 * What one committed batch did to one stream. Appends in the same group commit are merged, so
 * a reader gets one data frame per batch and `upToDate` in its control event is exact.
 */
export class LiveEvent {
  readonly rows: Buffer[] = []
  closed = false
  deleted = false
  private frames = new Map<SsePayloadKind, Buffer>()
  private control: Buffer | undefined
  private controlInterval = -1
  private full: Buffer | undefined
  private fullInterval = -1
  private fullKind: SsePayloadKind | undefined

  constructor(
    readonly streamId: number,
    /** Tail before the batch. */
    readonly prev: Position,
    /** Tail after the batch. */
    public tail: Position,
  ) {}

  get tailOffset(): string {
    return encodeOffset(this.tail)
  }

  /** The SSE data frame for this batch, encoded once and shared by every reader. */
  dataFrame(kind: SsePayloadKind): Buffer | null {
    if (this.rows.length === 0) return null
    let frame = this.frames.get(kind)
    if (!frame) {
      const payload =
        kind === 'json'
          ? frameJsonRows(this.rows)
          : kind === 'base64'
            ? Buffer.from(Buffer.concat(this.rows).toString('base64'))
            : Buffer.concat(this.rows)
      frame = sseDataEvent(payload)
      this.frames.set(kind, frame)
    }
    return frame
  }

  /** Data frame followed by the shared control frame: one buffer, one write per reader. */
  sharedFrame(kind: SsePayloadKind, nowMs: number = Date.now()): Buffer {
    const control = this.sharedControl(nowMs)
    if (this.fullInterval !== control.interval || this.fullKind !== kind || !this.full) {
      const data = this.dataFrame(kind)
      this.full = data ? Buffer.concat([data, control.frame]) : control.frame
      this.fullInterval = control.interval
      this.fullKind = kind
    }
    return this.full
  }

  /** The control frame with the current interval as cursor (shared by readers without a newer cursor). */
  sharedControl(nowMs: number = Date.now()): { frame: Buffer; interval: number } {
    const interval = currentInterval(nowMs)
    if (!this.control || this.controlInterval !== interval) {
      this.control = sseControlEvent(
        this.closed
          ? { streamNextOffset: this.tailOffset, streamClosed: true }
          : { streamNextOffset: this.tailOffset, streamCursor: String(interval), upToDate: true },
      )
      this.controlInterval = interval
    }
    return { frame: this.control, interval }
  }
}

export type LiveSubscriber = (event: LiveEvent) => void

/**
 * In-process notifier: one subscriber set per stream id. Writers stage events while their
 * transaction runs; `publish` delivers them after the commit.
 */
export class LiveHub {
  constructor(private readonly log: Logger) {}

  private subscribers = new Map<number, Set<LiveSubscriber>>()
  private staged = new Map<number, LiveEvent>()

  subscribe(streamId: number, fn: LiveSubscriber): () => void {
    let set = this.subscribers.get(streamId)
    if (!set) {
      set = new Set()
      this.subscribers.set(streamId, set)
    }
    set.add(fn)
    return () => {
      const s = this.subscribers.get(streamId)
      if (!s) return
      s.delete(fn)
      if (s.size === 0) this.subscribers.delete(streamId)
    }
  }

  hasSubscribers(streamId: number): boolean {
    return this.subscribers.has(streamId)
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

  /** Committed batches waiting for delivery, oldest first. */
  private ready: Array<Map<number, LiveEvent>> = []
  private deliveryScheduled = false

  /**
   * Hands the staged events to their subscribers on the next turn of the event loop, not now:
   * publish runs right after the commit, before the writers' promises continue, so delivering
   * here would make every acknowledgement wait for the fan-out to every reader (one socket
   * write each). Batches keep their commit order.
   */
  publish(): void {
    if (this.staged.size === 0) return
    this.ready.push(this.staged)
    this.staged = new Map()
    if (this.deliveryScheduled) return
    this.deliveryScheduled = true
    setImmediate(() => this.deliver())
  }

  /** Delivers every committed batch to its streams' subscribers, in commit order. */
  deliver(): void {
    this.deliveryScheduled = false
    const batches = this.ready
    this.ready = []
    for (const events of batches) {
      for (const ev of events.values()) {
        const set = this.subscribers.get(ev.streamId)
        if (!set) continue
        for (const fn of [...set]) {
          try {
            fn(ev)
          } catch (err) {
            this.log.error({ err }, 'live subscriber failed')
          }
        }
      }
    }
  }

  /** Wakes every subscriber of every stream with a synthetic deletion (server shutdown). */
  closeAll(): void {
    this.ready = []
    for (const [id, set] of this.subscribers) {
      const ev = new LiveEvent(id, { seq: 0, pos: 0 }, { seq: 0, pos: 0 })
      ev.deleted = true
      for (const fn of [...set]) fn(ev)
    }
    this.subscribers.clear()
  }
}
