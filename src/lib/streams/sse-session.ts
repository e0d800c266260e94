import type { Socket } from 'node:net'
import { encodeOffset, type Position } from './offsets'
import { currentInterval, responseCursor } from './cursor'
import { sseControlEvent, sseDataEvent } from './sse'
import { readPayload } from './read-body'
import type { LiveEvent, LiveHub, SsePayloadKind } from './live'
import type { StreamStore } from './stream-store'

/** The parts of Node's ServerResponse the direct-write fast path uses. */
export interface DirectSink {
  readonly headersSent: boolean
  readonly writableLength: number
  readonly writableEnded: boolean
  readonly destroyed: boolean
  write(chunk: Uint8Array): boolean
  once(event: 'drain', listener: () => void): unknown
}

export interface SseOptions {
  store: StreamStore
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
 * A sink that writes frames to the response's socket itself once the head is out. The SSE
 * response is delimited by closing the connection (no chunked encoding), so after the head the
 * socket carries the frames byte for byte; skipping ServerResponse.write drops its per-write
 * cork + nextTick uncork and bookkeeping, 1,000 times per commit with 1,000 readers.
 */
export function socketSink(res: {
  readonly headersSent: boolean
  readonly writableEnded: boolean
  readonly socket: Socket | null
}): DirectSink | undefined {
  const socket = res.socket
  if (!socket) return undefined
  return {
    get headersSent() {
      return res.headersSent
    },
    get writableLength() {
      return socket.writableLength
    },
    get writableEnded() {
      return res.writableEnded
    },
    get destroyed() {
      return socket.destroyed
    },
    write: (chunk) => socket.write(chunk),
    once: (event, listener) => socket.once(event, listener),
  }
}

/** Per-reader buffer: past this the reader stops taking live frames and catches up from SQLite. */
export const SSE_HIGH_WATER_BYTES = 512 * 1024

/**
 * One SSE reader. Catches up from SQLite in bounded chunks (a data event plus a control event
 * each), then takes the shared, pre-encoded frame of every committed batch. A reader whose
 * buffer is full (slow network) is not written to; it falls back to catch-up when it drains,
 * so it never slows writers or other readers and its memory stays bounded.
 */
export class SseSession {
  private controller!: ReadableStreamDefaultController<Uint8Array>
  private position: Position
  private live = false
  private done = false
  private sentControl = false
  private unsubscribe: (() => void) | undefined
  private keepAlive: NodeJS.Timeout | undefined
  private lifetime: NodeJS.Timeout | undefined
  private lastWrite = Date.now()
  /** A cursor past the current interval (client echoed a fresh one), or null for the shared one. */
  private ownCursor: number | null = null

  constructor(private readonly o: SseOptions) {
    this.position = o.start
    if (o.clientCursor && /^\d{1,15}$/.test(o.clientCursor) && Number(o.clientCursor) >= currentInterval()) {
      this.ownCursor = Number(responseCursor(o.clientCursor))
    }
  }

  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller
          this.o.onOpen()
          this.unsubscribe = this.o.hub.subscribe(this.o.streamId, (ev) => this.onEvent(ev))
          this.keepAlive = setInterval(() => this.onKeepAlive(), Math.max(250, Math.floor(this.o.keepAliveMs / 2)))
          this.lifetime = setTimeout(() => this.finish(), this.o.maxDurationMs)
          this.keepAlive.unref?.()
          this.lifetime.unref?.()
          this.catchUp()
        },
        pull: () => {
          if (!this.live && !this.done) this.catchUp()
        },
        cancel: () => this.cleanup(),
      },
      { highWaterMark: SSE_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
    )
  }

  /** True when writes may bypass the web stream (everything queued there is already written). */
  private get directReady(): boolean {
    const d = this.o.direct
    return d?.headersSent === true && !d.destroyed && this.controller.desiredSize === SSE_HIGH_WATER_BYTES
  }

  private hasRoom(): boolean {
    if (this.directReady) {
      if (this.o.direct!.writableLength < SSE_HIGH_WATER_BYTES) return true
      this.resumeOnDrain()
      return false
    }
    return (this.controller.desiredSize ?? 0) > 0
  }

  private waitingForDrain = false

  private resumeOnDrain(): void {
    if (this.waitingForDrain) return
    this.waitingForDrain = true
    this.o.direct!.once('drain', () => {
      this.waitingForDrain = false
      if (!this.live && !this.done) this.catchUp()
    })
  }

  private write(chunk: Uint8Array): void {
    if (this.directReady) this.o.direct!.write(chunk)
    else this.controller.enqueue(chunk)
    this.lastWrite = Date.now()
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

  /** Sends stored data from `position` while the reader has room; goes live at the tail. */
  private catchUp(): void {
    this.live = false
    while (!this.done && this.hasRoom()) {
      const meta = this.o.store.getById(this.o.streamId)
      if (!meta || meta.softDeleted) {
        this.finish()
        return
      }
      if (this.position.seq < meta.tailSeq) {
        const end = this.o.store.readBoundary(meta, this.position, this.o.chunkBytes)
        const payload = readPayload(this.o.store, meta, this.position, end)
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
        if (closed) {
          this.finish()
          return
        }
        if (upToDate) {
          this.live = true
          return
        }
        continue
      }
      const closed = Boolean(meta.closed)
      if (!this.sentControl || closed) {
        this.write(this.control(this.position, true, closed))
        this.sentControl = true
        if (closed) {
          this.finish()
          return
        }
      }
      this.live = true
      return
    }
  }

  private onEvent(ev: LiveEvent): void {
    if (this.done) return
    if (ev.deleted) {
      this.finish()
      return
    }
    if (!this.live || ev.prev.seq !== this.position.seq || !this.hasRoom()) {
      // Behind, or the buffer is full: resume from SQLite now if there is room, else on pull.
      this.live = false
      if (this.hasRoom()) this.catchUp()
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

  private finish(): void {
    if (this.done) return
    this.cleanup()
    try {
      this.controller.close()
    } catch {
      // Already closed or errored by the consumer.
    }
  }

  private cleanup(): void {
    if (this.done) return
    this.done = true
    this.unsubscribe?.()
    clearInterval(this.keepAlive)
    clearTimeout(this.lifetime)
    this.o.onClose()
  }
}
