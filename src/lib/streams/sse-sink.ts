import type { Socket } from 'node:net'

/** The parts of Node's ServerResponse the direct-write fast path uses. */
export interface DirectSink {
  readonly headersSent: boolean
  readonly writableLength: number
  readonly writableEnded: boolean
  readonly destroyed: boolean
  write(chunk: Uint8Array): boolean
  once(event: 'drain', listener: () => void): unknown
  /** Drops the connection (a client that never took the end of its response). */
  destroy(): void
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
  // Read on every frame (several times); once true it stays true.
  let headersSent = false
  return {
    get headersSent() {
      if (!headersSent) headersSent = res.headersSent
      return headersSent
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
    destroy: () => socket.destroy(),
  }
}

/**
 * The direct sink may write to the socket only once the response head is on it. Node's
 * `headersSent` turns true at writeHead, but the head itself goes out with the first body
 * write; a reader whose first frame comes after an asynchronous read (PostgreSQL) would
 * otherwise put that frame on the socket before the head. `_headerSent` is Node's own flag for
 * "the head was written" (OutgoingMessage, stable since Node 0.x).
 */
export function headOnWire(res: object, sink: DirectSink | undefined): DirectSink | undefined {
  if (!sink) return undefined
  const out = res as { _headerSent?: boolean }
  return {
    get headersSent() {
      return out._headerSent === true
    },
    get writableLength() {
      return sink.writableLength
    },
    get writableEnded() {
      return sink.writableEnded
    },
    get destroyed() {
      return sink.destroyed
    },
    write: (chunk) => sink.write(chunk),
    once: (event, listener) => sink.once(event, listener),
    destroy: () => sink.destroy(),
  }
}
