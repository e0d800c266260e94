import type { Position } from './offsets'
import type { StreamMeta, StreamStore } from './store'
import { frameJsonRows } from './json-framing'

const OPEN = Buffer.from('[')
const COMMA = Buffer.from(',')
const CLOSE = Buffer.from(']')
const EMPTY = Buffer.from('[]')

/** Rows fetched per query while streaming a long read. */
const PAGE_ROWS = 512
/** Reads smaller than this are built in one buffer; larger ones stream page by page. */
export const STREAM_THRESHOLD_BYTES = 1 << 20

/** Raw rows of (from, to] as one buffer (small reads). */
export function readRange(store: StreamStore, meta: StreamMeta, from: Position, to: Position): Buffer[] {
  const rows: Buffer[] = []
  let after = from.seq
  while (after < to.seq) {
    const page = store.readRows(meta, after, to.seq, PAGE_ROWS)
    if (page.length === 0) break
    for (const r of page) rows.push(r.data)
    after = page[page.length - 1]!.seq
  }
  return rows
}

/** The response body for (from, to]: JSON-framed for JSON streams, raw bytes otherwise. */
export function buildBody(store: StreamStore, meta: StreamMeta, from: Position, to: Position): Uint8Array | ReadableStream<Uint8Array> {
  if (to.pos - from.pos <= STREAM_THRESHOLD_BYTES) {
    const rows = readRange(store, meta, from, to)
    return meta.jsonMode ? frameJsonRows(rows) : rows.length === 1 ? rows[0]! : Buffer.concat(rows)
  }
  return streamRange(store, meta, from, to)
}

/**
 * A long read as a pull stream: one page of rows per pull, so memory stays bounded by the page
 * size and the HTTP layer's backpressure, never by the stream length.
 */
function streamRange(store: StreamStore, meta: StreamMeta, from: Position, to: Position): ReadableStream<Uint8Array> {
  let after = from.seq
  let first = true
  const json = Boolean(meta.jsonMode)
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (after >= to.seq) {
          if (json) controller.enqueue(first ? EMPTY : CLOSE)
          controller.close()
          return
        }
        const page = store.readRows(meta, after, to.seq, PAGE_ROWS)
        if (page.length === 0) {
          after = to.seq
          return
        }
        const parts: Buffer[] = []
        for (const r of page) {
          if (json) parts.push(first ? OPEN : COMMA)
          first = false
          parts.push(r.data)
        }
        after = page[page.length - 1]!.seq
        controller.enqueue(Buffer.concat(parts))
      },
    },
    { highWaterMark: 1 },
  )
}
