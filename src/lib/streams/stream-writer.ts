import type Database from 'better-sqlite3'
import type { Logger } from '../common/logger'
import type { StreamLifecycleListener } from './seams'
import { START_POSITION, encodeOffset, type Position } from './offsets'
import { flattenJsonBody, takeJsonMessages } from './json-framing'
import type { StreamMeta, StreamStore } from './stream-store'
import type { LiveHub } from './live'
import type { WriteQueue } from './write-queue'
import { ProtocolError, badRequest, conflict, gone, notFound } from './errors'
import { H } from './protocol'
import { judgeProducer } from './producers'
import { prepareWriterStatements, type WriterStatements } from './writer-sql'
import { essenceOf, isExpired, ttlSlackMs, type AppendSpec, type CreateSpec, type Expiry, type WriteResult } from './write-specs'

export { judgeProducer } from './producers'

export { essenceOf, isExpired, ttlSlackMs, type AppendSpec, type CreateSpec, type Expiry, type WriteResult } from './write-specs'

/** Streams with more own rows than this are purged in the background, not in the request. */
const INLINE_DELETE_ROWS = 2000

/**
 * The write side: create, append, close, delete, expire. Each method runs synchronously
 * inside a WriteQueue transaction and throws ProtocolError to refuse (rolling back its
 * savepoint). Live notifications and lifecycle events are registered as after-commit hooks.
 */
export class StreamWriter {
  private readonly s: WriterStatements

  constructor(
    sqlite: Database.Database,
    private readonly store: StreamStore,
    private readonly queue: WriteQueue,
    private readonly hub: LiveHub,
    private readonly listeners: Set<StreamLifecycleListener>,
    private readonly opts: { defaultRetentionMs: number | null; hasLiveReaders: (id: number) => boolean; log: Logger },
  ) {
    this.s = prepareWriterStatements(sqlite)
  }

  /** Live stream or a protocol error; expired streams are removed on the way. */
  private requireLive(path: string, now: number): StreamMeta {
    const meta = this.store.get(path)
    if (!meta) throw notFound()
    if (meta.softDeleted) throw gone()
    // Expired streams answer at once; the sweeper removes them (a throw here rolls back anyway).
    if (isExpired(meta, now) && !this.opts.hasLiveReaders(meta.id)) throw meta.refCount > 0 ? gone() : notFound()
    return meta
  }

  create(spec: CreateSpec, now: number): WriteResult {
    const existing = this.store.get(spec.path)
    if (existing) {
      if (!existing.softDeleted && isExpired(existing, now) && !this.opts.hasLiveReaders(existing.id)) {
        this.expire(existing)
      } else {
        if (existing.softDeleted)
          throw conflict('PATH_IN_USE', 'A deleted stream at this path still has forks; the path cannot be reused yet')
        return this.confirmExisting(existing, spec)
      }
      if (this.store.get(spec.path)) throw conflict('PATH_IN_USE', 'An expired stream at this path still has forks')
    }

    let contentType = spec.contentType ?? 'application/octet-stream'
    let expiry: Expiry = { ttlSeconds: spec.ttlSeconds, expiresAtMs: spec.expiresAtMs }
    let source: StreamMeta | undefined
    let anchor: Position = START_POSITION
    let prefix: { data: Buffer; count: number } | null = null

    if (spec.fork) {
      source = this.store.get(spec.fork.sourcePath)
      if (!source || (isExpired(source, now) && source.refCount === 0 && !this.opts.hasLiveReaders(source.id)))
        throw notFound('Source stream not found')
      if (source.softDeleted || isExpired(source, now)) throw conflict('SOURCE_DELETED', 'Source stream was deleted; it cannot be forked')
      if (spec.contentType === null) contentType = source.contentType
      else if (essenceOf(spec.contentType) !== essenceOf(source.contentType))
        throw conflict('CONTENT_TYPE_MISMATCH', `Fork content type must match the source's (${source.contentType})`)
      if (expiry.ttlSeconds === null && expiry.expiresAtMs === null) {
        expiry = { ttlSeconds: source.ttlSeconds, expiresAtMs: source.expiresAt ? Date.parse(source.expiresAt) : null }
      }
      anchor = this.resolveForkAnchor(source, spec.fork.offset)
      if (spec.fork.subOffset > 0) prefix = this.forkPrefix(source, anchor, spec.fork.subOffset)
    }

    const jsonMode = essenceOf(contentType) === 'application/json'
    let initial: { data: Buffer; count: number } | null = null
    if (spec.body.length > 0) {
      if (jsonMode) {
        const flat = flattenJsonBody(spec.body)
        if (!flat.ok) throw badRequest('INVALID_JSON', flat.reason)
        if (flat.count > 0) initial = { data: flat.text, count: flat.count }
      } else {
        initial = { data: Buffer.from(spec.body), count: 1 }
      }
    }

    const deadline = this.deadline(expiry, now)
    const info = this.s.insertStream.run({
      path: spec.path,
      contentType,
      jsonMode: jsonMode ? 1 : 0,
      now,
      ttl: expiry.ttlSeconds,
      expiresAt: expiry.expiresAtMs === null ? null : new Date(expiry.expiresAtMs).toISOString(),
      deadline,
      tailSeq: anchor.seq,
      tailPos: anchor.pos,
      forkSourceId: source?.id ?? null,
      forkSeq: source ? anchor.seq : null,
      forkPos: source ? anchor.pos : null,
      forkOffset: spec.fork?.offsetToken ?? null,
      forkSubOffset: spec.fork ? spec.fork.subOffset : null,
    })
    const id = Number(info.lastInsertRowid)
    if (source) {
      this.s.addRef.run(source.id)
      this.store.forget(source.id)
    }
    let tail = anchor
    for (const row of [prefix, initial]) {
      if (!row) continue
      tail = { seq: tail.seq + 1, pos: tail.pos + row.data.length }
      this.s.insertRow.run(id, tail.seq, tail.pos, row.count, row.data)
    }
    if (tail !== anchor || spec.closed) {
      this.s.setTail.run({ id, tailSeq: tail.seq, tailPos: tail.pos, closed: spec.closed ? 1 : 0 })
    }
    const meta = this.store.getById(id)!
    const startOffset = encodeOffset(anchor)
    this.queue.afterCommit(() => this.emit((l) => l.onCreated?.(spec.path, startOffset)))
    if (initial || prefix) {
      const tailOffset = encodeOffset(tail)
      this.queue.afterCommit(() => this.emit((l) => l.onAppended?.(spec.path, tailOffset)))
    }
    if (spec.closed) this.queue.afterCommit(() => this.emit((l) => l.onClosed?.(spec.path)))
    return { status: 201, meta, headers: {} }
  }

  private confirmExisting(existing: StreamMeta, spec: CreateSpec): WriteResult {
    const mismatch = (what: string) => conflict('STREAM_EXISTS', `Stream already exists with a different ${what}`)
    if (spec.contentType !== null || !spec.fork) {
      const wanted = spec.contentType ?? 'application/octet-stream'
      if (essenceOf(wanted) !== essenceOf(existing.contentType)) throw mismatch('content type')
    }
    if (spec.fork) {
      const source = this.store.get(spec.fork.sourcePath)
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
    return { status: 200, meta: existing, headers: {} }
  }

  private resolveForkAnchor(source: StreamMeta, offset: Position | null): Position {
    if (offset === null) return { seq: source.tailSeq, pos: source.tailPos }
    if (offset.seq > source.tailSeq || (offset.seq === source.tailSeq && offset.pos !== source.tailPos))
      throw badRequest('FORK_OFFSET_BEYOND_TAIL', 'Stream-Fork-Offset is beyond the source stream tail')
    if (!this.store.isPosition(source, offset))
      throw badRequest('INVALID_FORK_OFFSET', 'Stream-Fork-Offset is not an offset of the source stream')
    return offset
  }

  private forkPrefix(source: StreamMeta, anchor: Position, sub: number): { data: Buffer; count: number } {
    const next = this.store.rowAfter(source, anchor)
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

  private deadline(expiry: Expiry, now: number): number | null {
    if (expiry.ttlSeconds !== null) return now + expiry.ttlSeconds * 1000
    if (expiry.expiresAtMs !== null) return expiry.expiresAtMs
    return this.opts.defaultRetentionMs === null ? null : now + this.opts.defaultRetentionMs
  }

  append(spec: AppendSpec, now: number): WriteResult {
    const meta = this.requireLive(spec.path, now)
    const headers: Record<string, string> = {}
    const p = spec.producer
    const closedHeaders = () => ({ [H.closed]: 'true', [H.nextOffset]: encodeOffset({ seq: meta.tailSeq, pos: meta.tailPos }) })

    let producerState: { epoch: number; lastSeq: number } | undefined
    if (p) {
      producerState = this.s.getProducer.get(meta.id, p.id)
      const verdict = judgeProducer(producerState, p.epoch, p.seq)
      if (verdict.kind === 'stale') {
        throw new ProtocolError(403, 'STALE_EPOCH', 'Producer epoch is stale (a newer epoch has been seen)', {
          [H.producerEpoch]: String(verdict.currentEpoch),
        })
      }
      if (verdict.kind === 'duplicate') {
        const dup: Record<string, string> = { [H.producerEpoch]: String(p.epoch), [H.producerSeq]: String(verdict.lastSeq) }
        if (meta.closed) Object.assign(dup, closedHeaders())
        return { status: 204, meta, headers: dup }
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
      if (!hasBody && spec.close) return { status: 204, meta, headers: { ...headers, ...closedHeaders() } }
      throw conflict('STREAM_CLOSED', 'Stream is closed', closedHeaders())
    }
    if (hasBody && essenceOf(spec.contentType ?? '') !== essenceOf(meta.contentType))
      throw conflict('CONTENT_TYPE_MISMATCH', `Content-Type does not match the stream's (${meta.contentType})`)
    if (spec.streamSeq !== null) {
      if (meta.lastStreamSeq !== null && !(spec.streamSeq > meta.lastStreamSeq))
        throw conflict('SEQ_REGRESSION', `Stream-Seq must increase (last was ${meta.lastStreamSeq})`)
    }

    let row: { data: Buffer; count: number } | null = null
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
    if (row) this.s.insertRow.run(meta.id, tail.seq, tail.pos, row.count, row.data)
    // The streams row is rewritten only when something durable about it changes; the tail is
    // recovered from the messages themselves (see StreamStore), keeping commits to one page.
    const deadline = meta.ttlSeconds !== null ? now + meta.ttlSeconds * 1000 : meta.deadlineAt
    if (spec.close) {
      this.s.closeStream.run({
        id: meta.id,
        tailSeq: tail.seq,
        tailPos: tail.pos,
        now,
        deadline,
        closedByProducer: p ? p.id : null,
        closedByEpoch: p ? p.epoch : null,
        closedBySeq: p ? p.seq : null,
      })
      meta.savedDeadlineAt = deadline
    } else if (meta.ttlSeconds !== null && deadline !== null && deadline - (meta.savedDeadlineAt ?? 0) > ttlSlackMs(meta.ttlSeconds)) {
      this.s.touch.run(now, deadline, meta.id)
      meta.savedDeadlineAt = deadline
    }
    if (spec.streamSeq !== null) this.s.setStreamSeq.run(spec.streamSeq, meta.id)
    if (p) this.s.upsertProducer.run(meta.id, p.id, p.epoch, p.seq, now)

    meta.tailSeq = tail.seq
    meta.tailPos = tail.pos
    meta.lastAccessAt = now
    meta.deadlineAt = deadline
    if (spec.streamSeq !== null) meta.lastStreamSeq = spec.streamSeq
    if (spec.close) {
      meta.closed = 1
      if (p) {
        meta.closedByProducer = p.id
        meta.closedByEpoch = p.epoch
        meta.closedBySeq = p.seq
      }
    }
    const path = spec.path
    const data = row?.data
    const closing = spec.close
    this.queue.afterCommit(() => {
      this.hub.stage(meta.id, prev, tail, { row: data, closed: closing })
      if (data) {
        const offset = encodeOffset(tail)
        this.emit((l) => l.onAppended?.(path, offset, data.length))
      }
      if (closing) this.emit((l) => l.onClosed?.(path))
    })
    headers[H.nextOffset] = encodeOffset(tail)
    if (spec.close) headers[H.closed] = 'true'
    return { status: p ? (row ? 200 : 204) : 204, meta, headers }
  }

  delete(path: string, now: number): void {
    const meta = this.requireLive(path, now)
    this.remove(meta)
  }

  /** Sliding-TTL renewal on reads. */
  touch(meta: StreamMeta, now: number): void {
    if (meta.ttlSeconds === null) return
    const deadline = now + meta.ttlSeconds * 1000
    this.s.touch.run(now, deadline, meta.id)
    meta.lastAccessAt = now
    meta.deadlineAt = deadline
    meta.savedDeadlineAt = deadline
  }

  /** Expiry: soft-delete when forks still read it, otherwise remove. */
  expire(meta: StreamMeta): void {
    this.remove(meta)
  }

  private remove(meta: StreamMeta): void {
    if (meta.refCount > 0) {
      this.s.softDelete.run(meta.id)
      this.store.forget(meta.id)
    } else {
      this.hardDelete(meta)
    }
    const path = meta.path
    const tail = { seq: meta.tailSeq, pos: meta.tailPos }
    this.queue.afterCommit(() => {
      this.hub.stage(meta.id, tail, tail, { deleted: true })
      this.emit((l) => l.onDeleted?.(path))
    })
  }

  /** Removes a stream row now; its messages go now (small) or via the purge queue (large). */
  private hardDelete(meta: StreamMeta): void {
    const ownFrom = meta.forkSourceId === null ? 0 : (meta.forkSeq ?? 0)
    if (meta.tailSeq - ownFrom <= INLINE_DELETE_ROWS) {
      this.s.deleteRows.run(meta.id)
    } else {
      this.s.enqueuePurge.run(meta.id, meta.tailSeq)
    }
    this.s.deleteProducers.run(meta.id)
    this.s.deleteStream.run(meta.id)
    this.store.forget(meta.id)
    if (meta.forkSourceId !== null) {
      this.s.dropRef.run(meta.forkSourceId)
      this.store.forget(meta.forkSourceId)
      const source = this.store.getById(meta.forkSourceId)
      if (source?.softDeleted && source.refCount <= 0) this.hardDelete(source)
    }
  }

  private emit(fn: (l: StreamLifecycleListener) => void): void {
    for (const l of this.listeners) {
      try {
        fn(l)
      } catch (err) {
        this.opts.log.error({ err }, 'lifecycle listener failed')
      }
    }
  }
}
