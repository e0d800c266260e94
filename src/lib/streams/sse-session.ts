import { encodeOffset, type Position } from './offsets'
import { currentInterval, responseCursor } from './cursor'
import { sseControlEvent, sseDataEvent } from './sse'
import { readPayload } from './read-body'
import type { LiveEvent, LiveHub, SsePayloadKind } from './live'
import { whenReady, type MaybePromise, type StreamReads } from './engine'
import type { SseLimits, SseReaderState, SseStats } from './sse-limits'
import type { DirectSink } from './sse-sink'

export interface SseOptions {
  store: StreamReads
  hub: LiveHub
  streamId: number
  kind: SsePayloadKind
  start: Position
  clientCursor: string | null
  /** Bytes per catch-up data event. */
  chunkBytes: number
  /** Idle time before a keep-alive control event. */
  keepAliveMs: number
  /** Connection lifetime; the client resumes from its last offset (PROTOCOL §10.2). */
  maxDurationMs: number
  limits: SseLimits
  stats: SseStats
  onOpen(): void
  onClose(): void
  /**
   * The Node response under the web Response, when the adapter exposes it (srvx). Once the
   * head is out and the web stream's queue is empty, frames go straight to the socket: the
   * web-stream hop (a promise and a read per chunk per reader) is the bulk of fan-out CPU.
   */
  direct?: DirectSink
}

/**
 * One SSE reader. Catches up from SQLite in bounded chunks (a data event plus a control event
 * each), then takes the shared, pre-encoded frame of every committed batch. Backpressure: once
 * `limits.maxBufferBytes` are queued for it (web stream queue, or the socket's buffer on the
 * direct path) it takes nothing more and leaves the live fan-out (writers then do no work for
 * it at all); when its buffer drains it catches up from SQLite. A reader that stays at the limit
 * longer than `slowGraceMs`, or while writers append more than `maxLagBytes`, is cut off: the response
 * ends after the last complete event (whose control event carries the offset to resume from).
 */
export class SseSession implements SseReaderState {
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private position: Position
  private live = false
  /** No more frames will be produced (ended, cut off or cancelled). */
  private done = false
  /** Ended by us; waiting for the queue to drain before closing the web stream. */
  private ending = false
  private closed = false
  private sentControl = false
  private unsubscribe: (() => void) | undefined
  private keepAlive: NodeJS.Timeout | undefined
  private lifetime: NodeJS.Timeout | undefined
  private slowCheck: NodeJS.Timeout | undefined
  private endDeadline: NodeJS.Timeout | undefined
  private stalledSince: number | null = null
  /** The stream's tail when the reader reached its bound. */
  private stalledAtTail = 0
  private waitingForDrain = false
  private lastWrite = Date.now()
  /** A cursor past the current interval (client echoed a fresh one), or null for the shared one. */
  private ownCursor: number | null = null
  /** A catch-up is running (its reads may be asynchronous); `again`: a batch came meanwhile. */
  private pumping = false
  private again = false

  constructor(private readonly o: SseOptions) {
    this.position = o.start
    if (o.clientCursor && /^\d{1,15}$/.test(o.clientCursor) && Number(o.clientCursor) >= currentInterval()) {
      this.ownCursor = Number(responseCursor(o.clientCursor))
    }
  }

  get stalled(): boolean {
    return this.stalledSince !== null
  }

  stream(): ReadableStream<Uint8Array> {
    const limit = this.o.limits.maxBufferBytes
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
          this.o.onOpen()
          this.o.stats.add(this)
          this.keepAlive = setInterval(() => this.onKeepAlive(), Math.max(250, Math.floor(this.o.keepAliveMs / 2)))
          this.lifetime = setTimeout(() => this.finish(), this.o.maxDurationMs)
          this.keepAlive.unref?.()
          this.lifetime.unref?.()
          this.catchUp()
        },
        pull: () => {
          if (this.ending) this.closeWhenDrained()
          else if (!this.live && !this.done) this.catchUp()
        },
        cancel: () => {
          this.cleanup()
          this.closed = true
          clearTimeout(this.endDeadline)
        },
      },
      { highWaterMark: limit, size: (chunk) => chunk.byteLength },
    )
  }

  /** Bytes queued in the web stream (not yet taken by the HTTP layer). */
  private queuedBytes(): number {
    return this.o.limits.maxBufferBytes - (this.controller.desiredSize ?? this.o.limits.maxBufferBytes)
  }

  bufferedBytes(): number {
    const d = this.o.direct
    return this.queuedBytes() + (d?.headersSent === true && !d.destroyed ? d.writableLength : 0)
  }

  /** True when writes may bypass the web stream (everything queued there is already written). */
  private get directReady(): boolean {
    const d = this.o.direct
    return d?.headersSent === true && !d.destroyed && this.queuedBytes() === 0
  }

  private hasRoom(): boolean {
    if (this.bufferedBytes() < this.o.limits.maxBufferBytes) {
      if (this.stalledSince !== null) this.unstall()
      return true
    }
    this.stall()
    return false
  }

  /** At the limit: out of the fan-out until the buffer drains; cut off if it stays there. */
  private stall(): void {
    if (this.directReady) this.resumeOnDrain()
    if (this.stalledSince !== null) return
    this.stalledSince = Date.now()
    this.stalledAtTail = this.position.pos
    this.whenRead(this.o.store.getById(this.o.streamId), (meta) => {
      if (meta) this.stalledAtTail = Math.max(this.stalledAtTail, meta.tailPos)
    })
    this.leaveHub()
    this.live = false
    const every = Math.max(50, Math.min(1_000, Math.floor(this.o.limits.slowGraceMs / 4)))
    this.slowCheck = setInterval(() => this.checkSlow(), every)
    this.slowCheck.unref?.()
  }

  private unstall(): void {
    this.stalledSince = null
    clearInterval(this.slowCheck)
  }

  private checkSlow(): void {
    if (this.done || this.stalledSince === null) return
    if (this.bufferedBytes() < this.o.limits.maxBufferBytes) {
      this.catchUp()
      return
    }
    // Bytes appended while it took nothing: a reader catching up from far behind fills its
    // buffer too, but drains it again, and each drain restarts both clocks.
    const stalledSince = this.stalledSince
    this.whenRead(this.o.store.getById(this.o.streamId), (meta) => {
      if (this.done || this.stalledSince !== stalledSince) return
      const lag = meta ? meta.tailPos - this.stalledAtTail : 0
      if (Date.now() - stalledSince >= this.o.limits.slowGraceMs || lag > this.o.limits.maxLagBytes) {
        this.o.stats.cutOffs++
        this.finish()
      }
    })
  }

  private resumeOnDrain(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    this.o.direct!.once('drain', () => {
      this.waitingForDrain = false
      if (!this.live && !this.done) this.catchUp()
    })
  }

  private joinHub(): void {
    this.unsubscribe ??= this.o.hub.subscribe(this.o.streamId, (ev) => this.onEvent(ev))
  }

  private leaveHub(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  /** Runs `then` on a store read's value (see whenReady); a failed read (store closed) ends the response. */
  private whenRead<T>(value: MaybePromise<T>, then: (v: T) => void): void {
    whenReady(value, then, () => {
      this.finish()
      this.pumping = false
    })
  }

  private write(chunk: Uint8Array): void {
    if (this.directReady) this.o.direct!.write(chunk)
    else this.controller.enqueue(chunk)
    this.lastWrite = Date.now()
    this.o.stats.noteBuffered(this.bufferedBytes())
  }

  private control(at: Position, upToDate: boolean, closed: boolean): Buffer {
    const offset = encodeOffset(at)
    if (closed) return sseControlEvent({ streamNextOffset: offset, streamClosed: true })
    const cursor = this.cursor()
    return upToDate
      ? sseControlEvent({ streamNextOffset: offset, streamCursor: cursor, upToDate: true })
      : sseControlEvent({ streamNextOffset: offset, streamCursor: cursor })
  }

  private cursor(): string {
    const current = currentInterval()
    if (this.ownCursor !== null && this.ownCursor > current) return String(this.ownCursor)
    this.ownCursor = null
    return String(current)
  }

  /**
   * Sends stored data from `position` while the reader has room; at the tail it goes live.
   * The reader joins the live fan-out before each read, so a batch committed while a read is
   * in flight (PostgreSQL reads are asynchronous) is not missed: it marks `again` and the
   * catch-up runs once more; one the read already covered is recognised by its `prev`. One
   * catch-up runs at a time. With SQLite's synchronous reads the whole catch-up runs in this
   * turn, as the frames must: the first one goes out through the web stream with the head.
   */
  private catchUp(): void {
    this.live = false
    if (this.pumping) {
      this.again = true
      return
    }
    this.pumping = true
    this.again = false
    this.catchUpStep()
  }

  /** The catch-up ended; a batch that came while it read (taken as `again`) may be past it: read again. */
  private pumped(): void {
    this.pumping = false
    if (this.again && !this.done) this.catchUp()
  }

  private catchUpStep(): void {
    if (this.done || !this.hasRoom()) {
      this.pumped()
      return
    }
    this.joinHub()
    this.whenRead(this.o.store.getById(this.o.streamId), (meta) => {
      if (this.done) {
        this.pumped()
        return
      }
      if (!meta || meta.softDeleted) {
        this.finish()
        this.pumped()
        return
      }
      if (this.position.seq >= meta.tailSeq) {
        const closed = Boolean(meta.closed)
        if (!this.sentControl || closed) {
          this.write(this.control(this.position, true, closed))
          this.sentControl = true
        }
        if (closed) this.finish()
        else this.goLive()
        this.pumped()
        return
      }
      this.whenRead(this.o.store.readBoundary(meta, this.position, this.o.chunkBytes), (end) => {
        this.whenRead(readPayload(this.o.store, meta, this.position, end), (payload) => {
          if (this.done) {
            this.pumped()
            return
          }
          const upToDate = end.seq === meta.tailSeq
          const closed = Boolean(meta.closed) && upToDate
          this.write(
            Buffer.concat([
              sseDataEvent(this.o.kind === 'base64' ? Buffer.from(payload.toString('base64')) : payload),
              this.control(end, upToDate, closed),
            ]),
          )
          this.sentControl = true
          this.position = end
          if (closed) this.finish()
          else if (upToDate) this.goLive()
          else {
            this.catchUpStep()
            return
          }
          this.pumped()
        })
      })
    })
  }

  private goLive(): void {
    this.live = true
    this.joinHub()
  }

  private onEvent(ev: LiveEvent): void {
    if (this.done) return
    if (ev.deleted) {
      this.finish()
      return
    }
    if (!this.live || ev.prev.seq !== this.position.seq || !this.hasRoom()) {
      // Already past this batch: nothing to do. Behind, or a catch-up in flight: resume from
      // the store if there is room; a full reader has left the hub in hasRoom() and resumes
      // when it drains.
      if (this.live && ev.tail.seq <= this.position.seq) return
      if (this.stalledSince === null) this.catchUp()
      return
    }
    if (this.ownCursor === null) {
      this.write(ev.sharedFrame(this.o.kind))
    } else {
      const data = ev.dataFrame(this.o.kind)
      const control = this.control(ev.tail, true, ev.closed)
      this.write(data ? Buffer.concat([data, control]) : control)
    }
    this.position = ev.tail
    if (ev.closed) this.finish()
  }

  private onKeepAlive(): void {
    if (this.done || !this.live) return
    if (Date.now() - this.lastWrite < this.o.keepAliveMs || !this.hasRoom()) return
    this.write(this.control(this.position, true, false))
  }

  /**
   * Ends the response after the last complete event (every write is whole events). The web
   * stream closes once the HTTP layer has taken what is queued; a client that does not take it
   * within `endDrainMs` is disconnected (it resumes from the last complete event it got).
   */
  private finish(): void {
    if (this.done) return
    this.cleanup()
    this.ending = true
    this.closeWhenDrained()
    this.endDeadline = setTimeout(() => this.abandon(), this.o.limits.endDrainMs)
    this.endDeadline.unref?.()
  }

  private closeWhenDrained(): void {
    if (this.closed || this.queuedBytes() > 0) return
    this.closed = true
    this.ending = false
    try {
      this.controller.close()
    } catch {
      // Already closed or errored by the consumer.
    }
    // On the direct path the socket may still hold frames; the deadline below stays armed.
    if (!this.o.direct) clearTimeout(this.endDeadline)
  }

  private abandon(): void {
    const d = this.o.direct
    if (d && !d.destroyed) {
      d.destroy()
      this.o.stats.dropped++
    }
    if (this.closed) return
    this.closed = true
    if (!d) this.o.stats.dropped++
    try {
      this.controller.error(new Error('SSE reader did not take the end of its response'))
    } catch {
      // Already closed by the consumer.
    }
  }

  shutdown(): void {
    this.finish()
    this.abandon()
  }

  private cleanup(): void {
    if (this.done) return
    this.done = true
    this.leaveHub()
    this.unstall()
    clearInterval(this.keepAlive)
    clearTimeout(this.lifetime)
    this.o.stats.remove(this)
    this.o.onClose()
  }
}
