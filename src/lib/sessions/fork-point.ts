/**
 * Where a session's stream is forked for "fork at turn N": the end of that turn, as a Durable
 * Streams fork position (an append boundary `Stream-Fork-Offset` plus `Stream-Fork-Sub-Offset`,
 * the number of messages of the next append that go with it).
 *
 * The protocol hands out offsets only at the end of a read, and one read holds many appends, so
 * the offset just after a given event is not in any answer. It is derived instead:
 *   1. one read from the start gives every event (and the tail: `seq` = number of appends);
 *   2. a read from append boundary `k` returns exactly the appends after `k` (reads select by the
 *      offset's sequence number), so its message count and byte length give how many messages
 *      the first `k` appends hold and the byte position after them (positions count stored
 *      bytes: each append's JSON text between its brackets, without the commas reads put
 *      between appends);
 *   3. a binary search over `k` finds the last boundary at or before the turn's last event.
 * The fork's PUT then checks the computed offset (INVALID_FORK_OFFSET if it were wrong).
 */
import type { StreamsEndpoint } from './streams-client'
import { StreamNotFoundError, StreamsProtocolError, streamUrl } from './streams-client'

const OFFSET_RE = /^(\d{16})_(\d{16})$/
const pad = (n: number) => String(n).padStart(16, '0')
export const encodeStreamOffset = (seq: number, pos: number): string => `${pad(seq)}_${pad(pos)}`

function decode(offset: string): { seq: number; pos: number } {
  const m = OFFSET_RE.exec(offset)
  if (!m) throw new Error(`not a stream offset: ${offset}`)
  return { seq: Number(m[1]), pos: Number(m[2]) }
}

/** Number of top-level elements of a JSON array text (bytes), without parsing them. */
export function countJsonArrayElements(bytes: Uint8Array): number {
  let depth = 0
  let inString = false
  let count = 0
  let sawValue = false
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (inString) {
      if (c === 0x5c)
        i++ // backslash: skip the escaped byte
      else if (c === 0x22) inString = false
      continue
    }
    if (c === 0x22) {
      inString = true
      if (depth === 1) sawValue = true
    } else if (c === 0x5b || c === 0x7b) {
      if (depth === 1) sawValue = true
      depth++
    } else if (c === 0x5d || c === 0x7d) {
      depth--
      if (depth === 0 && sawValue) count++
    } else if (c === 0x2c && depth === 1) {
      count++
    } else if (depth === 1 && c > 0x20) {
      sawValue = true
    }
  }
  return count
}

interface RangeRead {
  /** Messages from the start offset to the tail. */
  messages: number
  /** Stored bytes from the start offset to the tail. */
  bytes: number
  tail: { seq: number; pos: number }
  closed: boolean
  /** Parsed messages (only when asked). */
  values?: unknown[]
}

async function readRange(endpoint: StreamsEndpoint, path: string, offset: string, parse: boolean): Promise<RangeRead> {
  let next = offset
  let messages = 0
  let bytes = 0
  const values: unknown[] = []
  for (;;) {
    const res = await endpoint.transport(new Request(`${streamUrl(endpoint, path)}?offset=${encodeURIComponent(next)}`))
    if (res.status === 404 || res.status === 410) throw new StreamNotFoundError(path)
    if (res.status !== 200) throw new StreamsProtocolError(path, res.status, await res.text().catch(() => ''))
    const body = new Uint8Array(await res.arrayBuffer())
    const nextOffset = res.headers.get('stream-next-offset')
    if (!nextOffset) throw new StreamsProtocolError(path, res.status, 'read answered without Stream-Next-Offset')
    const from = next === '-1' ? { seq: 0, pos: 0 } : decode(next)
    const to = decode(nextOffset)
    const appends = to.seq - from.seq
    const n = countJsonArrayElements(body)
    messages += n
    // The body is `[` + appends joined by `,` + `]`: brackets and the commas between appends are not stored.
    if (appends > 0) bytes += body.length - 2 - (appends - 1)
    if (parse && n > 0) values.push(...(JSON.parse(Buffer.from(body).toString('utf8')) as unknown[]))
    const closed = res.headers.get('stream-closed')?.toLowerCase() === 'true'
    const upToDate = res.headers.get('stream-up-to-date')?.toLowerCase() === 'true'
    const advanced = nextOffset !== next
    next = nextOffset
    if (closed || upToDate || !advanced) return { messages, bytes, tail: to, closed, ...(parse ? { values } : {}) }
  }
}

/** A session stream read whole, for finding fork points. */
export interface StreamSnapshot {
  events: unknown[]
  tail: { seq: number; pos: number }
  closed: boolean
}

export async function readWholeStream(endpoint: StreamsEndpoint, path: string): Promise<StreamSnapshot> {
  const r = await readRange(endpoint, path, '-1', true)
  return { events: r.values ?? [], tail: r.tail, closed: r.closed }
}

export interface ForkPosition {
  /** Append boundary (`Stream-Fork-Offset`). */
  offset: string
  /** Messages of the next append included (`Stream-Fork-Sub-Offset`; 0 = none). */
  subOffset: number
}

/**
 * The fork position just after the first `count` messages of the stream (0 < count ≤ all):
 * a binary search over append boundaries (at most log2(appends) reads of a suffix).
 */
export async function forkPositionAfter(
  endpoint: StreamsEndpoint,
  path: string,
  snapshot: StreamSnapshot,
  count: number,
): Promise<ForkPosition> {
  const total = snapshot.events.length
  const { tail } = snapshot
  if (count >= total) return { offset: encodeStreamOffset(tail.seq, tail.pos), subOffset: 0 }
  // Messages and position of the first k appends, from a read of the appends after k.
  const before = async (k: number): Promise<{ messages: number; pos: number }> => {
    if (k === 0) return { messages: 0, pos: 0 }
    if (k >= tail.seq) return { messages: total, pos: tail.pos }
    // The position part is not known yet; reads select by sequence number (see the file comment).
    const after = await readRange(endpoint, path, encodeStreamOffset(k, 0), false)
    return { messages: total - after.messages, pos: tail.pos - after.bytes }
  }
  let lo = 0 // invariant: before(lo).messages <= count
  let hi = tail.seq // before(hi).messages = total > count
  let best = { messages: 0, pos: 0 }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2)
    const b = await before(mid)
    if (b.messages <= count) {
      lo = mid
      best = b
    } else hi = mid
  }
  return { offset: encodeStreamOffset(lo, best.pos), subOffset: count - best.messages }
}
