import { badRequest } from './errors'
import { H, parseProducerInt, parseRfc3339, parseStrictInt } from './protocol'
import { decodeOffset, encodeOffset, type Position } from './offsets'
import { resolveSourcePath } from './paths'
import type { CreateSpec } from './writer'

/** Validation of the protocol's request headers: pure, throwing ProtocolError (400) on bad input. */

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
  if (ttlRaw !== null && expiresRaw !== null)
    throw badRequest('CONFLICTING_EXPIRY', 'Send Stream-TTL or Stream-Expires-At, not both')
  let ttlSeconds: number | null = null
  if (ttlRaw !== null) {
    ttlSeconds = parseStrictInt(ttlRaw.trim())
    if (ttlSeconds === null) throw badRequest('INVALID_TTL', 'Stream-TTL must be a non-negative integer without sign or leading zeros')
  }
  let expiresAtMs: number | null = null
  if (expiresRaw !== null) {
    expiresAtMs = parseRfc3339(expiresRaw.trim())
    if (expiresAtMs === null) throw badRequest('INVALID_EXPIRES_AT', 'Stream-Expires-At must be an RFC 3339 timestamp')
  }
  let fork = null
  if (forkedFrom !== null) {
    const source = resolveSourcePath(forkedFrom, basePaths)
    if (!source.ok) throw badRequest('INVALID_FORK_SOURCE', source.reason)
    let offset: Position | null = null
    if (forkOffsetRaw !== null) {
      offset = decodeOffset(forkOffsetRaw.trim())
      if (!offset) throw badRequest('INVALID_FORK_OFFSET', 'Malformed Stream-Fork-Offset')
    }
    let subOffset = 0
    if (subRaw !== null) {
      const parsed = parseStrictInt(subRaw.trim())
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
    if (pid.trim() === '') throw badRequest('INVALID_PRODUCER_ID', 'Producer-Id must not be empty')
    const epoch = parseProducerInt(pEpoch.trim())
    const seq = parseProducerInt(pSeq.trim())
    if (epoch === null) throw badRequest('INVALID_PRODUCER_EPOCH', 'Producer-Epoch must be an integer between 0 and 2^53-1')
    if (seq === null) throw badRequest('INVALID_PRODUCER_SEQ', 'Producer-Seq must be an integer between 0 and 2^53-1')
    producer = { id: pid, epoch, seq }
  }
  return producer
}
