import type Database from 'better-sqlite3'
import type { Logger } from '../common/logger'
import type { StreamLifecycleListener } from './seams'
import { START_POSITION, type Position } from './offsets'
import type { StreamMeta, StreamStore } from './stream-store'
import type { LiveHub } from './live'
import type { WriteQueue } from './write-queue'
import { badRequest, conflict, gone, notFound } from './errors'
import { prepareWriterStatements, type WriterStatements } from './writer-sql'
import { essenceOf, isExpired, type AppendSpec, type CreateSpec, type Expiry, type WriteResult } from './write-specs'
import { announceAppend, announceCreate, announceDelete } from './announce'
import {
  applyAppend,
  checkForkOffsetBounds,
  confirmExisting,
  deadlineOf,
  forkPrefix,
  forkSettings,
  initialRow,
  planAppend,
  type StoredRow,
} from './write-plan'

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
    let prefix: StoredRow | null = null

    if (spec.fork) {
      source = this.store.get(spec.fork.sourcePath)
      if (!source || (isExpired(source, now) && source.refCount === 0 && !this.opts.hasLiveReaders(source.id)))
        throw notFound('Source stream not found')
      if (source.softDeleted || isExpired(source, now)) throw conflict('SOURCE_DELETED', 'Source stream was deleted; it cannot be forked')
      ;({ contentType, expiry } = forkSettings(source, spec))
      anchor = this.resolveForkAnchor(source, spec.fork.offset)
      if (spec.fork.subOffset > 0) prefix = forkPrefix(source, anchor, spec.fork.subOffset, this.store.rowAfter(source, anchor))
    }

    const jsonMode = essenceOf(contentType) === 'application/json'
    const initial = initialRow(spec.body, jsonMode)

    const deadline = deadlineOf(expiry, now, this.opts.defaultRetentionMs)
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
    this.queue.afterCommit(() => announceCreate(this.listeners, this.opts.log, spec.path, anchor, tail, spec.closed))
    return { status: 201, meta, headers: {} }
  }

  private confirmExisting(existing: StreamMeta, spec: CreateSpec): WriteResult {
    confirmExisting(existing, spec, spec.fork ? this.store.get(spec.fork.sourcePath) : undefined)
    return { status: 200, meta: existing, headers: {} }
  }

  private resolveForkAnchor(source: StreamMeta, offset: Position | null): Position {
    if (offset === null) return { seq: source.tailSeq, pos: source.tailPos }
    checkForkOffsetBounds(source, offset)
    if (!this.store.isPosition(source, offset))
      throw badRequest('INVALID_FORK_OFFSET', 'Stream-Fork-Offset is not an offset of the source stream')
    return offset
  }

  /** Refuses (ProtocolError) only before its first write: the group commit runs it without a savepoint. */
  append(spec: AppendSpec, now: number): WriteResult {
    const meta = this.requireLive(spec.path, now)
    const p = spec.producer
    const plan = planAppend(meta, p ? this.s.getProducer.get(meta.id, p.id) : undefined, spec, now)
    if (plan.kind === 'answer') return { status: plan.status, meta, headers: plan.headers }
    const { row, tail, deadline } = plan
    if (row) this.s.insertRow.run(meta.id, tail.seq, tail.pos, row.count, row.data)
    // The streams row is rewritten only when something durable about it changes; the tail is
    // recovered from the messages themselves (see StreamStore), keeping commits to one page.
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
    } else if (plan.writeDeadline) {
      this.s.touch.run(now, deadline, meta.id)
    }
    if (spec.streamSeq !== null) this.s.setStreamSeq.run(spec.streamSeq, meta.id)
    if (p) this.s.upsertProducer.run(meta.id, p.id, p.epoch, p.seq, now)
    applyAppend(meta, plan, spec, now)
    this.queue.afterCommit(() => announceAppend(this.hub, this.listeners, this.opts.log, meta.id, spec, plan))
    return { status: plan.status, meta, headers: plan.headers }
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
    this.queue.afterCommit(() => announceDelete(this.hub, this.listeners, this.opts.log, meta.id, path, tail))
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
}
