// The decisions of a write, apart from where it is stored: both engines' writers (SQLite's
// StreamWriter and PostgreSQL's PgStreamWriter) read the stream's row and producer state, ask
// these pure functions what to do, and then store the result their own way.
import { flattenJsonBody, takeJsonMessages } from './json-framing'
import { encodeOffset, type Position } from './offsets'
import { ProtocolError, badRequest, conflict } from './errors'
import { H } from './protocol'
import { judgeProducer } from './producers'
import type { MessageRow, StreamMeta } from './stream-store'
import { essenceOf, ttlSlackMs, type AppendSpec, type CreateSpec, type Expiry } from './write-specs'

export interface StoredRow {
  data: Buffer
  count: number
}

export type AppendPlan =
  /** Nothing to store (a duplicate, or a close of a closed stream): answer at once. */
  | { kind: 'answer'; status: number; headers: Record<string, string> }
  | {
      kind: 'write'
      status: number
      headers: Record<string, string>
      row: StoredRow | null
      prev: Position
      tail: Position
      /** The stream's deadline after this append. */
      deadline: number | null
      /** Whether the deadline must be written now (sliding TTL past its slack). */
      writeDeadline: boolean
    }

/** What an append does to a live stream, given its producer's stored state. Throws ProtocolError to refuse. */
export function planAppend(
  meta: StreamMeta,
  producerState: { epoch: number; lastSeq: number } | undefined,
  spec: AppendSpec,
  now: number,
): AppendPlan {
  const headers: Record<string, string> = {}
  const p = spec.producer
  const closedHeaders = () => ({ [H.closed]: 'true', [H.nextOffset]: encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos }) })

  if (p) {
    const verdict = judgeProducer(producerState, p.epoch, p.seq)
    if (verdict.kind === 'stale') {
      throw new ProtocolError(403, 'STALE_EPOCH', 'Producer epoch is stale (a newer epoch has been seen)', {
        [H.producerEpoch]: String(verdict.currentEpoch),
      })
    }
    if (verdict.kind === 'duplicate') {
      const dup: Record<string, string> = { [H.producerEpoch]: String(p.epoch), [H.producerSeq]: String(verdict.lastSeq) }
      if (meta.closed) Object.assign(dup, closedHeaders())
      return { kind: 'answer', status: 204, headers: dup }
    }
    if (meta.closed) throw conflict('STREAM_CLOSED', 'Stream is closed', closedHeaders())
    if (verdict.kind === 'epoch_needs_seq0') throw badRequest('INVALID_EPOCH_SEQ', 'A new producer epoch must start at Producer-Seq 0')
    if (verdict.kind === 'gap') {
      throw conflict('SEQUENCE_GAP', `Producer sequence gap: expected ${verdict.expected}, got ${p.seq}`, {
        [H.producerExpectedSeq]: String(verdict.expected),
        [H.producerReceivedSeq]: String(p.seq),
      })
    }
    headers[H.producerEpoch] = String(p.epoch)
    headers[H.producerSeq] = String(p.seq)
  }

  const hasBody = spec.body.length > 0
  if (meta.closed) {
    if (!hasBody && spec.close) return { kind: 'answer', status: 204, headers: { ...headers, ...closedHeaders() } }
    throw conflict('STREAM_CLOSED', 'Stream is closed', closedHeaders())
  }
  if (hasBody && essenceOf(spec.contentType ?? '') !== essenceOf(meta.contentType))
    throw conflict('CONTENT_TYPE_MISMATCH', `Content-Type does not match the stream's (${meta.contentType})`)
  if (spec.streamSeq !== null) {
    if (meta.lastStreamSeq !== null && !(spec.streamSeq > meta.lastStreamSeq))
      throw conflict('SEQ_REGRESSION', `Stream-Seq must increase (last was ${meta.lastStreamSeq})`)
  }

  let row: StoredRow | null = null
  if (hasBody) {
    if (meta.jsonMode) {
      const flat = flattenJsonBody(spec.body)
      if (!flat.ok) throw badRequest('INVALID_JSON', flat.reason)
      if (flat.count === 0) throw badRequest('EMPTY_JSON_ARRAY', 'Empty JSON arrays cannot be appended')
      row = { data: flat.text, count: flat.count }
    } else {
      row = { data: Buffer.from(spec.body.buffer, spec.body.byteOffset, spec.body.byteLength), count: 1 }
    }
  }

  const prev: Position = { seq: meta.tailSeq, pos: meta.tailPos }
  const tail: Position = row ? { seq: prev.seq + 1, pos: prev.pos + row.data.length } : prev
  const deadline = meta.ttlSeconds !== null ? now + meta.ttlSeconds * 1000 : meta.deadlineAt
  const writeDeadline =
    meta.ttlSeconds !== null && deadline !== null && deadline - (meta.savedDeadlineAt ?? 0) > ttlSlackMs(meta.ttlSeconds)
  headers[H.nextOffset] = encodeOffset(tail)
  if (spec.close) headers[H.closed] = 'true'
  return { kind: 'write', status: p ? (row ? 200 : 204) : 204, headers, row, prev, tail, deadline, writeDeadline }
}

/** Brings a stream's metadata object up to date after its append committed (cached rows are the truth). */
export function applyAppend(meta: StreamMeta, plan: Extract<AppendPlan, { kind: 'write' }>, spec: AppendSpec, now: number): void {
  meta.tailSeq = plan.tail.seq
  meta.tailPos = plan.tail.pos
  meta.lastAccessAt = now
  meta.deadlineAt = plan.deadline
  if (spec.close || plan.writeDeadline) meta.savedDeadlineAt = plan.deadline
  if (spec.streamSeq !== null) meta.lastStreamSeq = spec.streamSeq
  if (spec.close) {
    meta.closed = 1
    const p = spec.producer
    if (p) {
      meta.closedByProducer = p.id
      meta.closedByEpoch = p.epoch
      meta.closedBySeq = p.seq
    }
  }
}

/** 200 for a matching re-create of an existing stream, else 409 naming what differs. */
export function confirmExisting(existing: StreamMeta, spec: CreateSpec, source: StreamMeta | undefined): void {
  const mismatch = (what: string) => conflict('STREAM_EXISTS', `Stream already exists with a different ${what}`)
  if (spec.contentType !== null || !spec.fork) {
    const wanted = spec.contentType ?? 'application/octet-stream'
    if (essenceOf(wanted) !== essenceOf(existing.contentType)) throw mismatch('content type')
  }
  if (spec.fork) {
    if (!source || existing.forkSourceId !== source.id) throw mismatch('fork source')
    if ((existing.forkOffset ?? null) !== spec.fork.offsetToken) throw mismatch('fork offset')
    if ((existing.forkSubOffset ?? 0) !== spec.fork.subOffset) throw mismatch('fork sub-offset')
  } else if (existing.forkSourceId !== null) {
    throw mismatch('configuration (it is a fork)')
  }
  const inheritsExpiry = spec.fork !== null && spec.ttlSeconds === null && spec.expiresAtMs === null
  if (!inheritsExpiry) {
    if ((existing.ttlSeconds ?? null) !== spec.ttlSeconds) throw mismatch('TTL')
    const existingExpires = existing.expiresAt ? Date.parse(existing.expiresAt) : null
    if (existingExpires !== spec.expiresAtMs) throw mismatch('expiry')
  }
  if (Boolean(existing.closed) !== spec.closed) throw mismatch('closure status')
}

/** A fork's content type and expiry from its source (or 409 when they cannot match). */
export function forkSettings(source: StreamMeta, spec: CreateSpec): { contentType: string; expiry: Expiry } {
  let contentType = spec.contentType ?? 'application/octet-stream'
  if (spec.contentType === null) contentType = source.contentType
  else if (essenceOf(spec.contentType) !== essenceOf(source.contentType))
    throw conflict('CONTENT_TYPE_MISMATCH', `Fork content type must match the source's (${source.contentType})`)
  let expiry: Expiry = { ttlSeconds: spec.ttlSeconds, expiresAtMs: spec.expiresAtMs }
  if (expiry.ttlSeconds === null && expiry.expiresAtMs === null) {
    expiry = { ttlSeconds: source.ttlSeconds, expiresAtMs: source.expiresAt ? Date.parse(source.expiresAt) : null }
  }
  return { contentType, expiry }
}

/** The fork offset must not pass the source's tail (whether it is an offset at all is the store's question). */
export function checkForkOffsetBounds(source: StreamMeta, offset: Position): void {
  if (offset.seq > source.tailSeq || (offset.seq === source.tailSeq && offset.pos !== source.tailPos))
    throw badRequest('FORK_OFFSET_BEYOND_TAIL', 'Stream-Fork-Offset is beyond the source stream tail')
}

/** The part of the append after the fork point that a sub-offset fork copies (`next`: that append). */
export function forkPrefix(source: StreamMeta, anchor: Position, sub: number, next: MessageRow | undefined): StoredRow {
  if (!next) throw badRequest('INVALID_FORK_SUB_OFFSET', 'Stream-Fork-Sub-Offset points past the source tail')
  // Sub-offsets count the messages of the append right after the anchor; compaction removed it.
  if (next.seq !== anchor.seq + 1)
    throw badRequest('INVALID_FORK_SUB_OFFSET', 'The append after Stream-Fork-Offset was removed by compaction; fork at an offset instead')
  if (source.jsonMode) {
    if (sub > next.count)
      throw badRequest('INVALID_FORK_SUB_OFFSET', `Stream-Fork-Sub-Offset exceeds the ${next.count} messages of the next append`)
    return { data: sub === next.count ? next.data : takeJsonMessages(next.data, sub), count: sub }
  }
  if (sub > next.data.length)
    throw badRequest('INVALID_FORK_SUB_OFFSET', `Stream-Fork-Sub-Offset exceeds the ${next.data.length} bytes of the next append`)
  return { data: next.data.subarray(0, sub), count: 1 }
}

/** A create's initial body as one stored row (null when empty). */
export function initialRow(body: Uint8Array, jsonMode: boolean): StoredRow | null {
  if (body.length === 0) return null
  if (!jsonMode) return { data: Buffer.from(body), count: 1 }
  const flat = flattenJsonBody(body)
  if (!flat.ok) throw badRequest('INVALID_JSON', flat.reason)
  return flat.count > 0 ? { data: flat.text, count: flat.count } : null
}

/** The effective expiry instant: TTL, Expires-At or the server's default retention. */
export function deadlineOf(expiry: Expiry, now: number, defaultRetentionMs: number | null): number | null {
  if (expiry.ttlSeconds !== null) return now + expiry.ttlSeconds * 1000
  if (expiry.expiresAtMs !== null) return expiry.expiresAtMs
  return defaultRetentionMs === null ? null : now + defaultRetentionMs
}
