import { badRequest } from './errors'
import { H, parseClosedHeader, parseProducerInt, parseRfc3339, parseStrictInt, trimOws } from './protocol'
import { decodeOffset, encodeOffset, type Position } from './offsets'
import { resolveSourcePath } from './paths'
import type { CreateSpec } from './stream-writer'

/**
 * Validation of the protocol's request headers: pure, throwing ProtocolError (400) on bad input.
 * The streams handler and the session gate in front of it (src/lib/sessions/protocol-gate.ts)
 * both parse with these functions, so a header can never mean one thing to the gate and another
 * to the store.
 */

/** Stream-Closed as a boolean; 400 for anything but true / false. */
export function parseClosed(h: Headers): boolean {
  const closed = parseClosedHeader(h.get(H.closed))
  if (closed === null) throw badRequest('INVALID_STREAM_CLOSED', 'Stream-Closed must be true or false')
  return closed
}

export interface AppendHeaders {
  close: boolean
  producer: ProducerHeaders | null
  /** The Content-Type as sent (null when absent); checked by the caller when there is a body. */
  contentType: string | null
  streamSeq: string | null
}

/** Every header of a POST (append / close), validated; 400 on the first bad one. */
export function parseAppendHeaders(h: Headers): AppendHeaders {
  const producer = parseProducerHeaders(h)
  const close = parseClosed(h)
  return { close, producer, contentType: h.get('content-type'), streamSeq: h.get(H.seq) }
}

export interface ProducerHeaders {
  id: string
  epoch: number
  seq: number
}

/** Stream-TTL / Stream-Expires-At / fork headers of a PUT. */
export function parseCreateHeaders(h: Headers, basePaths: string[]): Pick<CreateSpec, 'ttlSeconds' | 'expiresAtMs' | 'fork'> {
  const forkedFrom = h.get(H.forkedFrom)
  const forkOffsetRaw = h.get(H.forkOffset)
  const subRaw = h.get(H.forkSubOffset)
  const ttlRaw = h.get(H.ttl)
  const expiresRaw = h.get(H.expiresAt)
  if (forkedFrom === null && (subRaw !== null || forkOffsetRaw !== null))
    throw badRequest('FORK_HEADER_WITHOUT_SOURCE', 'Stream-Fork-Offset and Stream-Fork-Sub-Offset require Stream-Forked-From')
  if (ttlRaw !== null && expiresRaw !== null) throw badRequest('CONFLICTING_EXPIRY', 'Send Stream-TTL or Stream-Expires-At, not both')
  let ttlSeconds: number | null = null
  if (ttlRaw !== null) {
    ttlSeconds = parseStrictInt(trimOws(ttlRaw))
    if (ttlSeconds === null) throw badRequest('INVALID_TTL', 'Stream-TTL must be a non-negative integer without sign or leading zeros')
  }
  let expiresAtMs: number | null = null
  if (expiresRaw !== null) {
    expiresAtMs = parseRfc3339(trimOws(expiresRaw))
    if (expiresAtMs === null) throw badRequest('INVALID_EXPIRES_AT', 'Stream-Expires-At must be an RFC 3339 timestamp')
  }
  let fork = null
  if (forkedFrom !== null) {
    const source = resolveSourcePath(forkedFrom, basePaths)
    if (!source.ok) throw badRequest('INVALID_FORK_SOURCE', source.reason)
    let offset: Position | null = null
    if (forkOffsetRaw !== null) {
      offset = decodeOffset(trimOws(forkOffsetRaw))
      if (!offset) throw badRequest('INVALID_FORK_OFFSET', 'Malformed Stream-Fork-Offset')
    }
    let subOffset = 0
    if (subRaw !== null) {
      const parsed = parseStrictInt(trimOws(subRaw))
      if (parsed === null) throw badRequest('INVALID_FORK_SUB_OFFSET', 'Stream-Fork-Sub-Offset must be a non-negative integer')
      subOffset = parsed
    }
    fork = { sourcePath: source.path, offsetToken: offset ? encodeOffset(offset) : null, offset, subOffset }
  }
  return { ttlSeconds, expiresAtMs, fork }
}

/** Producer-Id / Producer-Epoch / Producer-Seq of a POST: all or none. */
export function parseProducerHeaders(h: Headers): ProducerHeaders | null {
  const pid = h.get(H.producerId)
  const pEpoch = h.get(H.producerEpoch)
  const pSeq = h.get(H.producerSeq)
  let producer: ProducerHeaders | null = null
  if (pid !== null || pEpoch !== null || pSeq !== null) {
    if (pid === null || pEpoch === null || pSeq === null)
      throw badRequest('INCOMPLETE_PRODUCER', 'Producer-Id, Producer-Epoch and Producer-Seq must be sent together')
    if (trimOws(pid) === '') throw badRequest('INVALID_PRODUCER_ID', 'Producer-Id must not be empty')
    const epoch = parseProducerInt(trimOws(pEpoch))
    const seq = parseProducerInt(trimOws(pSeq))
    if (epoch === null) throw badRequest('INVALID_PRODUCER_EPOCH', 'Producer-Epoch must be an integer between 0 and 2^53-1')
    if (seq === null) throw badRequest('INVALID_PRODUCER_SEQ', 'Producer-Seq must be an integer between 0 and 2^53-1')
    producer = { id: pid, epoch, seq }
  }
  return producer
}
