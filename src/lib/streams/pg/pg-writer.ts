/**
 * Write side of the PostgreSQL engine: create, append, delete, touch and expire, each run
 * inside a PgWriteQueue transaction. The decisions are write-plan.ts's, shared with SQLite's
 * StreamWriter; what differs is storage: the stream row is locked (`FOR UPDATE`) before it is
 * judged, which also serialises appends to one stream from several nodes, and the tail is
 * written to it on every append (a node cannot trust a cached tail another node may have moved).
 */
import type { Logger } from '../../common/logger'
import { announceAppend, announceCreate, announceDelete, type LiveStaging } from '../announce'
import { badRequest, conflict, gone, notFound } from '../errors'
import { START_POSITION, type Position } from '../offsets'
import type { StreamLifecycleListener } from '../seams'
import type { StreamMeta } from '../stream-store'
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
} from '../write-plan'
import { essenceOf, isExpired, type AppendSpec, type CreateSpec, type Expiry, type WriteResult } from '../write-specs'
import { APPEND_SQL, AppendGuesses, StaleGuess, type FinalQueryable } from './pg-fast-append'
import { noticePayload, sendNotice, STREAMS_CHANNEL } from './pg-notices'
import { PgReads, type Queryable } from './pg-reads'

/** Registers work to run once the operation's transaction has committed. */
export type AfterCommit = (hook: () => void) => void

export interface PgWriterOptions {
  /** This node's tag in its change notices (pg-notices.ts). */
  node: string
  hub: LiveStaging
  listeners: Set<StreamLifecycleListener>
  defaultRetentionMs: number | null
  hasLiveReaders: (id: number) => boolean
  log: Logger
}

function run(q: Queryable, text: string, args: unknown[]): Promise<unknown> {
  // Why the cast: postgres.js types parameters as its own union; ours are numbers, strings, Buffers and nulls.
  return q.unsafe(text, args as never[], { prepare: true })
}

export class PgStreamWriter {
  /** What this node last committed to each stream it writes: appends are planned on it (pg-fast-append.ts). */
  private readonly guesses = new AppendGuesses()

  constructor(private readonly o: PgWriterOptions) {}

  /** Queues the change notice in the transaction; `ifWatched` for appends (pg-notices.ts). */
  private announce(q: Queryable, id: number, tail: Position, deleted: boolean, ifWatched: boolean): Promise<unknown> {
    return sendNotice(q, { node: this.o.node, id, tail, deleted }, ifWatched)
  }

  /** What tether_append sends, inside its one statement, when another node watches the stream. */
  private readonly notice = (id: number, tail: Position): [string, string, string] => [
    STREAMS_CHANNEL,
    noticePayload({ node: this.o.node, id, tail, deleted: false }),
    this.o.node,
  ]

  private async requireLive(reads: PgReads, path: string, now: number): Promise<StreamMeta> {
    const meta = await reads.get(path, true)
    if (!meta) throw notFound()
    if (meta.softDeleted) throw gone()
    if (isExpired(meta, now) && !this.o.hasLiveReaders(meta.id)) throw meta.refCount > 0 ? gone() : notFound()
    return meta
  }

  async create(q: Queryable, spec: CreateSpec, now: number, after: AfterCommit): Promise<WriteResult> {
    const reads = new PgReads(q)
    // `FOR UPDATE` locks nothing while the path has no row, so another node may insert it
    // between this read and our INSERT: then the INSERT inserts nothing (ON CONFLICT waits for
    // that node's commit) and the create is judged again against the row it committed.
    for (let attempt = 0; ; attempt++) {
      const existing = await reads.get(spec.path, true)
      if (existing) {
        const answer = await this.createOver(reads, q, existing, spec, now, after)
        if (answer) return answer
      }
      const created = await this.insertNew(reads, q, spec, now, after)
      if (created) return created
      if (attempt >= 2) throw conflict('PATH_IN_USE', 'The stream at this path is being created and deleted concurrently; retry')
    }
  }

  /** A create where a row holds the path: 200 or 409 for a live stream; undefined once an expired one is removed. */
  private async createOver(
    reads: PgReads,
    q: Queryable,
    existing: StreamMeta,
    spec: CreateSpec,
    now: number,
    after: AfterCommit,
  ): Promise<WriteResult | undefined> {
    if (!existing.softDeleted && isExpired(existing, now) && !this.o.hasLiveReaders(existing.id)) {
      await this.remove(q, existing, after)
      if (await reads.get(spec.path)) throw conflict('PATH_IN_USE', 'An expired stream at this path still has forks')
      return undefined
    }
    if (existing.softDeleted) throw conflict('PATH_IN_USE', 'A deleted stream at this path still has forks; the path cannot be reused yet')
    confirmExisting(existing, spec, spec.fork ? await reads.get(spec.fork.sourcePath) : undefined)
    return { status: 200, meta: existing, headers: {} }
  }

  /** Inserts the new stream; undefined when another transaction committed a row at the path first. */
  private async insertNew(reads: PgReads, q: Queryable, spec: CreateSpec, now: number, after: AfterCommit): Promise<WriteResult | undefined> {
    let contentType = spec.contentType ?? 'application/octet-stream'
    let expiry: Expiry = { ttlSeconds: spec.ttlSeconds, expiresAtMs: spec.expiresAtMs }
    let source: StreamMeta | undefined
    let anchor: Position = START_POSITION
    let prefix: StoredRow | null = null
    if (spec.fork) {
      source = await reads.get(spec.fork.sourcePath, true)
      if (!source || (isExpired(source, now) && source.refCount === 0 && !this.o.hasLiveReaders(source.id)))
        throw notFound('Source stream not found')
      if (source.softDeleted || isExpired(source, now)) throw conflict('SOURCE_DELETED', 'Source stream was deleted; it cannot be forked')
      ;({ contentType, expiry } = forkSettings(source, spec))
      const offset = spec.fork.offset
      if (offset === null) anchor = { seq: source.tailSeq, pos: source.tailPos }
      else {
        checkForkOffsetBounds(source, offset)
        if (!(await reads.isPosition(source, offset)))
          throw badRequest('INVALID_FORK_OFFSET', 'Stream-Fork-Offset is not an offset of the source stream')
        anchor = offset
      }
      if (spec.fork.subOffset > 0) prefix = forkPrefix(source, anchor, spec.fork.subOffset, await reads.rowAfter(source, anchor))
    }
    const jsonMode = essenceOf(contentType) === 'application/json'
    const initial = initialRow(spec.body, jsonMode)
    let tail = anchor
    const rows: Array<{ seq: number; pos: number; row: StoredRow }> = []
    for (const row of [prefix, initial]) {
      if (!row) continue
      tail = { seq: tail.seq + 1, pos: tail.pos + row.data.length }
      rows.push({ seq: tail.seq, pos: tail.pos, row })
    }
    const inserted = await q.unsafe(
      `INSERT INTO streams (path, content_type, json_mode, created_at, ttl_seconds, expires_at, last_access_at,
         deadline_at, tail_seq, tail_pos, closed, fork_source_id, fork_seq, fork_pos, fork_offset, fork_sub_offset)
       VALUES ($1, $2, $3, $4, $5, $6, $4, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (path) DO NOTHING RETURNING id`,
      [
        spec.path,
        contentType,
        jsonMode ? 1 : 0,
        now,
        expiry.ttlSeconds,
        expiry.expiresAtMs === null ? null : new Date(expiry.expiresAtMs).toISOString(),
        deadlineOf(expiry, now, this.o.defaultRetentionMs),
        tail.seq,
        tail.pos,
        spec.closed ? 1 : 0,
        source?.id ?? null,
        source ? anchor.seq : null,
        source ? anchor.pos : null,
        spec.fork?.offsetToken ?? null,
        spec.fork ? spec.fork.subOffset : null,
      ] as never[],
      { prepare: true },
    )
    if (inserted.length === 0) return undefined
    const id = Number((inserted[0] as unknown as { id: number }).id)
    const writes: Promise<unknown>[] = []
    if (source) writes.push(run(q, `UPDATE streams SET ref_count = ref_count + 1 WHERE id = $1`, [source.id]))
    for (const r of rows) writes.push(this.insertRow(q, id, r.seq, r.pos, r.row))
    writes.push(this.announce(q, id, tail, false, false))
    await Promise.all(writes)
    const meta = (await reads.getById(id))!
    this.guesses.forget(spec.path)
    after(() => this.guesses.remember(meta))
    after(() => announceCreate(this.o.listeners, this.o.log, spec.path, anchor, tail, spec.closed))
    return { status: 201, meta, headers: {} }
  }

  private insertRow(q: Queryable, id: number, seq: number, pos: number, row: StoredRow): Promise<unknown> {
    return run(q, `INSERT INTO messages (stream_id, seq, end_pos, count, data) VALUES ($1, $2, $3, $4, $5)`, [id, seq, pos, row.count, row.data])
  }

  async append(q: Queryable, spec: AppendSpec, now: number, after: AfterCommit): Promise<WriteResult> {
    const final = (q as Partial<FinalQueryable>).final
    const fast = final ? this.guesses.prepare(spec, now, this.notice) : null
    if (final && fast) {
      const rows = await final(APPEND_SQL, fast.args)
      if (rows[0]?.ok !== true) {
        this.guesses.forget(spec.path)
        throw new StaleGuess()
      }
      after(() => announceAppend(this.o.hub, this.o.listeners, this.o.log, fast.result.meta.id, spec, fast.plan))
      return fast.result
    }
    const reads = new PgReads(q)
    const p = spec.producer
    // Both reads go out together (postgres.js pipelines them on the transaction's connection);
    // the producer row is read after the stream row's lock is granted, as they run in order.
    const [meta, producerRows] = await Promise.all([
      this.requireLive(reads, spec.path, now),
      p
        ? q.unsafe(
            `SELECT pr.epoch, pr.last_seq AS "lastSeq" FROM producers pr JOIN streams s ON s.id = pr.stream_id
             WHERE s.path = $1 AND pr.producer_id = $2`,
            [spec.path, p.id],
            { prepare: true },
          )
        : null,
    ])
    const producerState = producerRows?.[0] as { epoch: number; lastSeq: number } | undefined
    let plan: ReturnType<typeof planAppend>
    try {
      plan = planAppend(meta, producerState, spec, now)
    } catch (err) {
      this.guesses.forget(spec.path)
      throw err
    }
    if (plan.kind === 'answer') {
      this.guesses.forget(spec.path)
      return { status: plan.status, meta, headers: plan.headers }
    }
    const { row, tail, deadline } = plan
    const writes: Promise<unknown>[] = []
    if (row) writes.push(this.insertRow(q, meta.id, tail.seq, tail.pos, row))
    writes.push(
      run(
        q,
        `UPDATE streams SET tail_seq = $2, tail_pos = $3, last_access_at = $4, deadline_at = $5,
           last_stream_seq = COALESCE($6, last_stream_seq),
           closed = CASE WHEN $7::boolean THEN 1 ELSE closed END,
           closed_by_producer = CASE WHEN $7::boolean THEN $8 ELSE closed_by_producer END,
           closed_by_epoch = CASE WHEN $7::boolean THEN $9 ELSE closed_by_epoch END,
           closed_by_seq = CASE WHEN $7::boolean THEN $10 ELSE closed_by_seq END
         WHERE id = $1`,
        [meta.id, tail.seq, tail.pos, now, deadline, spec.streamSeq, spec.close, p?.id ?? null, p?.epoch ?? null, p?.seq ?? null],
      ),
    )
    writes.push(this.announce(q, meta.id, tail, false, true))
    if (p) {
      writes.push(
        run(
          q,
          `INSERT INTO producers (stream_id, producer_id, epoch, last_seq, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (stream_id, producer_id) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq,
             updated_at = excluded.updated_at`,
          [meta.id, p.id, p.epoch, p.seq, now],
        ),
      )
    }
    await Promise.all(writes)
    applyAppend(meta, plan, spec, now)
    after(() => {
      this.guesses.remember(meta, p ? { id: p.id, epoch: p.epoch, lastSeq: p.seq } : undefined)
      announceAppend(this.o.hub, this.o.listeners, this.o.log, meta.id, spec, plan)
    })
    return { status: plan.status, meta, headers: plan.headers }
  }

  async delete(q: Queryable, path: string, now: number, after: AfterCommit): Promise<void> {
    const meta = await this.requireLive(new PgReads(q), path, now)
    await this.remove(q, meta, after)
  }

  /** Sliding-TTL renewal. */
  async touch(q: Queryable, meta: StreamMeta, now: number): Promise<void> {
    if (meta.ttlSeconds === null) return
    const deadline = now + meta.ttlSeconds * 1000
    await run(q, `UPDATE streams SET last_access_at = $1, deadline_at = $2 WHERE id = $3`, [now, deadline, meta.id])
  }

  /** Expires the stream with this id if it is still due (re-read under its lock); true when it did. */
  async expireIfDue(q: Queryable, id: number, now: number, after: AfterCommit): Promise<boolean> {
    const meta = await new PgReads(q).getById(id, true)
    if (!meta || meta.softDeleted || !isExpired(meta, now) || this.o.hasLiveReaders(id)) return false
    await this.remove(q, meta, after)
    return true
  }

  /** Soft-delete while forks still read it, otherwise remove it (and a soft-deleted source it was the last fork of). */
  private async remove(q: Queryable, meta: StreamMeta, after: AfterCommit): Promise<void> {
    this.guesses.forget(meta.path)
    const tail = { seq: meta.tailSeq, pos: meta.tailPos }
    const announced = this.announce(q, meta.id, tail, true, false)
    if (meta.refCount > 0) await run(q, `UPDATE streams SET soft_deleted = 1, deadline_at = NULL WHERE id = $1`, [meta.id])
    else await this.hardDelete(q, meta)
    await announced
    after(() => announceDelete(this.o.hub, this.o.listeners, this.o.log, meta.id, meta.path, tail))
  }

  private async hardDelete(q: Queryable, meta: StreamMeta): Promise<void> {
    // PostgreSQL deletes a large stream's rows without holding up other writers' commits (MVCC),
    // so there is no purge queue here.
    await Promise.all([
      run(q, `DELETE FROM messages WHERE stream_id = $1`, [meta.id]),
      run(q, `DELETE FROM producers WHERE stream_id = $1`, [meta.id]),
      run(q, `DELETE FROM streams WHERE id = $1`, [meta.id]),
    ])
    if (meta.forkSourceId === null) return
    await run(q, `UPDATE streams SET ref_count = GREATEST(ref_count - 1, 0) WHERE id = $1`, [meta.forkSourceId])
    const source = await new PgReads(q).getById(meta.forkSourceId, true)
    if (source?.softDeleted && source.refCount <= 0) await this.hardDelete(q, source)
  }
}
