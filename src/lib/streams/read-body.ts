import type { Position } from './offsets'
import type { MaybePromise, StreamReads } from './engine'
import type { StreamMeta } from './stream-store'

const OPEN = Buffer.from('[')
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']')
const EMPTY_ARRAY = Buffer.from('[]')

/** Reads larger than this stream out chunk by chunk; smaller ones are built in one buffer. */
export const STREAM_THRESHOLD_BYTES = 1 << 20
/** Bytes of stored data per streamed chunk. */
const CHUNK_BYTES = 1 << 20

/** The payload for (from, to]: a JSON array for JSON streams, the raw bytes otherwise (synchronous on SQLite). */
export function readPayload(store: StreamReads, meta: StreamMeta, from: Position, to: Position): MaybePromise<Buffer> {
  const parts = store.readConcat(meta, from.seq, to.seq)
  return parts instanceof Promise ? parts.then((p) => framePayload(meta, p)) : framePayload(meta, parts)
}

function framePayload(meta: StreamMeta, parts: Buffer[]): Buffer {
  if (!meta.jsonMode) return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  if (parts.length === 0) return EMPTY_ARRAY
  const framed: Buffer[] = [OPEN]
  parts.forEach((p, i) => {
    framed.push(...(i > 0 ? [COMMA, p] : [p]))
  })
  framed.push(CLOSE)
  return Buffer.concat(framed)
}

/** The response body for (from, to]: one buffer when small, a bounded-chunk stream when large. */
export async function buildBody(
  store: StreamReads,
  meta: StreamMeta,
  from: Position,
  to: Position,
): Promise<Uint8Array | ReadableStream<Uint8Array>> {
  if (to.pos - from.pos <= STREAM_THRESHOLD_BYTES) return readPayload(store, meta, from, to)
  return streamRange(store, meta, from, to)
}

/**
 * A long read as a pull stream: about CHUNK_BYTES per pull, so memory stays bounded by the
 * chunk size and the HTTP layer's backpressure, never by the stream length.
 */
function streamRange(store: StreamReads, meta: StreamMeta, from: Position, to: Position): ReadableStream<Uint8Array> {
  let cur = from
  let first = true
  const json = Boolean(meta.jsonMode)
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (cur.seq >= to.seq) {
          if (json) controller.enqueue(first ? EMPTY_ARRAY : CLOSE)
          controller.close()
          return
        }
        let end = await store.readBoundary(meta, cur, CHUNK_BYTES)
        if (end.seq > to.seq) end = to
        const parts = await store.readConcat(meta, cur.seq, end.seq)
        cur = end
        if (!json) {
          controller.enqueue(parts.length === 1 ? parts[0]! : Buffer.concat(parts))
          return
        }
        const framed: Buffer[] = []
        for (const p of parts) {
          framed.push(first ? OPEN : COMMA, p)
          first = false
        }
        if (framed.length > 0) controller.enqueue(Buffer.concat(framed))
      },
    },
    { highWaterMark: 1 },
  )
}
