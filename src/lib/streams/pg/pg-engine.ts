/**
 * The PostgreSQL engine (issue 14, specs/scale-out.md): streams live in PostgreSQL, so several
 * Tether nodes serve the same streams. Writes commit through PgWriteQueue (group commit,
 * acknowledged after COMMIT); live readers on this node are woken by this node's commits
 * directly, and by other nodes' commits through LISTEN/NOTIFY (pg-notices.ts): a write sends
 * `NOTIFY tether_streams` inside its transaction (delivered only if it commits) when another
 * node watches the stream (pg-watches.ts: a node watches what it has live readers of), and that
 * node re-reads the stream from the database when it hears one. Nothing is delivered from the
 * notification itself, so a duplicate or a reordered one cannot duplicate or reorder data;
 * when the LISTEN connection comes back after a drop, every live reader re-checks.
 */
import { randomUUID } from 'node:crypto'
import type { Sql } from 'postgres'
import type { StreamEngine } from '../engine'
import type { LiveStaging } from '../announce'
import type { Position } from '../offsets'
import type { EngineParts } from '../streams-frontend'
import { PgStreamCompactor } from './pg-compaction'
import { PgReads } from './pg-reads'
import { PgWriteQueue } from './pg-queue'
import { parseNotice, STREAMS_CHANNEL } from './pg-notices'
import { PgWatches, WATCH_RENEW_MS } from './pg-watches'
import { PgStreamWriter } from './pg-writer'

export { STREAMS_CHANNEL } from './pg-notices'
/** Streams expired per transaction. */
const EXPIRY_BATCH = 200

export interface PgEngineOptions extends EngineParts {
  sql: Sql
}

export interface PgEngine extends StreamEngine {
  /** Resolves once this node is listening for other nodes' commits. */
  readonly listening: Promise<void>
  /** Session compaction's row rewrites, through this node's write queue. */
  readonly compactor: PgStreamCompactor
  /** Before a live read: other nodes' appends to the stream are announced here from then on (pg-watches.ts). */
  watchLive(id: number): Promise<Position | null> | undefined
}

export function createPgEngine(o: PgEngineOptions): PgEngine {
  const nodeTag = randomUUID().slice(0, 8)
  const reads = new PgReads(o.sql)
  const watches = new PgWatches(o.sql, nodeTag)
  /**
   * Per stream with live readers here: the tail this node last handed them (its own commits and
   * the other nodes' it forwarded). Another node's append is read once, from there, and handed
   * to every reader as one shared batch, instead of every reader re-reading the stream.
   */
  const handedOut = new Map<number, Position>()
  // Kept only while the stream has readers here; the next reader starts with a re-read.
  o.hub.onStreamIdle((id) => handedOut.delete(id))
  const noteHandedOut = (id: number, tail: Position) => {
    if (!o.hub.hasSubscribers(id)) return
    const known = handedOut.get(id)
    if (!known || known.seq < tail.seq) handedOut.set(id, tail)
  }
  const staging: LiveStaging = {
    stage(id, prev, tail, change) {
      noteHandedOut(id, tail)
      o.hub.stage(id, prev, tail, change)
    },
  }
  const writer = new PgStreamWriter({ ...o, hub: staging, node: nodeTag })
  const queue = new PgWriteQueue(o.sql, o.log, (ops) => {
    o.hub.publish()
    for (const l of o.listeners) l.onBatchCommitted?.(ops)
  })

  /** Every live reader of the stream re-reads it from the database (no reader's position is -1). */
  function wakeReaders(id: number, tail: Position, deleted = false): void {
    o.hub.stage(id, { seq: -1, pos: -1 }, tail, { deleted })
    o.hub.publish()
  }

  /** Reads what another node appended after what this node handed out, and hands it out as one batch. */
  async function forward(id: number, announced: Position): Promise<void> {
    const prev = handedOut.get(id)
    if (prev && prev.seq > announced.seq) return
    const meta = await reads.getById(id)
    if (!meta || meta.softDeleted) return wakeReaders(id, announced)
    const tail = { seq: meta.tailSeq, pos: meta.tailPos }
    if (!prev) {
      // First news of this stream since its readers came: they re-read once, then batches flow.
      noteHandedOut(id, tail)
      return wakeReaders(id, tail)
    }
    if (tail.seq <= prev.seq) {
      // A close without data moves no tail: its readers still need the closing control event.
      if (meta.closed && tail.seq === prev.seq) {
        o.hub.stage(id, prev, prev, { closed: true })
        o.hub.publish()
      }
      return
    }
    const parts = await reads.readConcat(meta, prev.seq, tail.seq)
    // A commit of this node's own may have been handed out meanwhile: then the readers re-read.
    if (handedOut.get(id)?.seq !== prev.seq) return wakeReaders(id, tail)
    noteHandedOut(id, tail)
    if (parts.length === 0) o.hub.stage(id, prev, tail, { closed: Boolean(meta.closed) })
    for (const row of parts) o.hub.stage(id, prev, tail, { row, closed: Boolean(meta.closed) })
    o.hub.publish()
  }

  /**
   * One forward at a time per stream. Notifications that arrive while one runs are folded into
   * a single follow-up read up to the latest of them: each forward reads up to the stream's
   * current tail anyway, and queueing one read per notification let a burst of appends build a
   * backlog that grew faster than the reads drained it (issue 14's cross-node row).
   */
  const forwarding = new Map<number, { again: Position | null }>()
  function startForward(id: number, announced: Position): void {
    const state: { again: Position | null } = { again: null }
    forwarding.set(id, state)
    void forward(id, announced)
      .catch((err) => {
        o.log.error({ err }, 'forwarding another node\'s append failed')
        wakeReaders(id, announced)
      })
      .finally(() => {
        if (state.again && o.hub.hasSubscribers(id)) startForward(id, state.again)
        else forwarding.delete(id)
      })
  }
  function onRemoteChange(payload: string): void {
    const notice = parseNotice(payload)
    if (!notice || notice.node === nodeTag) return
    const { id, tail: announced } = notice
    if (!o.hub.hasSubscribers(id)) {
      handedOut.delete(id)
      return
    }
    if (notice.deleted) {
      wakeReaders(id, announced, true)
      return
    }
    const running = forwarding.get(id)
    if (!running) startForward(id, announced)
    else if (!running.again || running.again.seq <= announced.seq) running.again = announced
  }

  /**
   * postgres.js re-LISTENs by itself after a dropped connection, but notifications sent while
   * it was down are lost: every live reader on this node re-checks its stream then (a reader
   * with nothing new goes back to waiting; a long-poll answers 204 early).
   */
  function wakeAllReaders(): void {
    const everything = { seq: Number.MAX_SAFE_INTEGER, pos: Number.MAX_SAFE_INTEGER }
    handedOut.clear()
    for (const id of o.hub.subscribedStreams()) wakeReaders(id, everything)
  }
  /** Renews this node's watches; readers of a stream whose watch had lapsed re-check it. */
  let renewing: Promise<void> | null = null
  function renewWatches(): Promise<void> {
    renewing ??= watches
      .renew(o.hub.subscribedStreams())
      .then((lapsed) => {
        const everything = { seq: Number.MAX_SAFE_INTEGER, pos: Number.MAX_SAFE_INTEGER }
        for (const id of lapsed) {
          handedOut.delete(id)
          wakeReaders(id, everything)
        }
      })
      .catch((err) => o.log.warn({ err }, 'renewing stream watches failed (retried)'))
      .finally(() => {
        renewing = null
      })
    return renewing
  }
  const renewTimer = setInterval(() => void renewWatches(), WATCH_RENEW_MS)
  renewTimer.unref?.()

  let listenedBefore = false
  const subscription = o.sql.listen(STREAMS_CHANNEL, onRemoteChange, () => {
    if (listenedBefore) {
      wakeAllReaders()
      void renewWatches()
    }
    listenedBefore = true
  })
  const listening = subscription.then(() => undefined)

  /**
   * Live readers hold a stream past its deadline (as on SQLite), but they are per node: each
   * node marks the streams it holds live readers on at every sweep, and a sweeping node leaves
   * a stream marked within the last three sweeps alone.
   */
  const liveHoldMs = 3 * Math.max(o.sweepIntervalMs, 1_000)
  async function markLiveStreams(now: number): Promise<void> {
    const ids = o.hub.subscribedStreams()
    if (ids.length === 0) return
    await o.sql.unsafe(`UPDATE streams SET last_access_at = GREATEST(last_access_at, $1) WHERE id = ANY($2::bigint[])`, [now, ids] as never[])
  }

  async function sweepExpired(now = Date.now()): Promise<{ expired: number; purgedRows: number }> {
    let expired = 0
    for (;;) {
      const due = await o.sql.unsafe(
        `SELECT id FROM streams WHERE deadline_at IS NOT NULL AND deadline_at <= $1 AND soft_deleted = 0 ORDER BY deadline_at LIMIT $2`,
        [now, EXPIRY_BATCH],
        { prepare: true },
      )
      if (due.length === 0) break
      const n = await queue.enqueue(async (tx, after) => {
        let count = 0
        for (const { id } of due as unknown as Array<{ id: number }>) {
          const [held] = await tx.unsafe(`SELECT 1 FROM streams WHERE id = $1 AND last_access_at > $2 FOR UPDATE`, [id, now - liveHoldMs], {
            prepare: true,
          })
          if (held) continue // another node's live readers hold it
          if (await writer.expireIfDue(tx, id, now, after)) count++
        }
        return count
      })
      expired += n
      if (n === 0 || due.length < EXPIRY_BATCH) break
    }
    return { expired, purgedRows: 0 }
  }

  let sweeping: Promise<unknown> | null = null
  const timer =
    o.sweepIntervalMs > 0
      ? setInterval(() => {
          sweeping ??= markLiveStreams(Date.now())
            .then(() => sweepExpired())
            .catch((err) => o.log.error({ err }, 'expiry sweep failed'))
            .finally(() => {
              sweeping = null
            })
        }, o.sweepIntervalMs)
      : null
  timer?.unref?.()

  return {
    listening,
    watchLive: (id) => watches.watch(id),
    compactor: new PgStreamCompactor(o.sql, (run) => queue.enqueue((tx) => run(tx))),
    get: (path) => reads.get(path),
    getById: (id) => reads.getById(id),
    readBoundary: (meta, from, maxBytes) => reads.readBoundary(meta, from, maxBytes),
    readConcat: (meta, afterSeq, throughSeq) => reads.readConcat(meta, afterSeq, throughSeq),
    listLivePaths: (now) => reads.listLivePaths(now),
    // Each write names the stream it locks: batches take row locks in path order on every node.
    create: (spec, now) => queue.enqueue((tx, after) => writer.create(tx, spec, now, after), spec.path),
    append: (spec, now) => queue.enqueue((tx, after) => writer.append(tx, spec, now, after), spec.path),
    delete: (path, now) => queue.enqueue((tx, after) => writer.delete(tx, path, now, after), path),
    touch: (meta, now) => queue.enqueue((tx) => writer.touch(tx, meta, now), meta.path),
    sweepExpired,
    async close() {
      if (timer) clearInterval(timer)
      clearInterval(renewTimer)
      await sweeping
      await renewing
      await queue.close()
      await watches.clear().catch(() => {}) // else they lapse in WATCH_TTL_MS
      await subscription.then((s) => s.unlisten()).catch(() => {})
    },
  }
}
