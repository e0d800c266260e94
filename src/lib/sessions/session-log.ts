/**
 * Per-session view of the session's stream, kept in memory and rebuilt from the stream itself
 * (so it is right after a restart): the fold (usage, event ids, agents, presence) and offsets.
 *
 * All work on one session is serialized here, so "check event ids, then append" is atomic for
 * every write that goes through this process.
 *
 * Fast path: a write reads nothing. The fold is loaded with one full read on first use; after
 * that, events this process appends are folded directly from memory (they are exactly what the
 * append committed) and the answer's offset is the append's own Stream-Next-Offset. A read
 * happens only when the stream may hold something we did not write:
 *   - raw protocol appends through this process's gate (workers) are folded from the events the
 *     gate validated (`foldAppended`), like our own, and folded again in order by the next read;
 *   - `noteForeignAppend` (a failed append whose fate is unknown, a resumed session) marks the
 *     session stale; the next operation first catches up from the last read offset;
 *   - `catchUp` (monitor ticks, GET /api/sessions/:id) always reads from the last *read* offset,
 *     so events of other writers that landed between our own appends are folded in stream order.
 *     Re-applying our own directly folded events then is harmless: the fold is last-wins per
 *     key / set union / max, so it ends where a fold from scratch would.
 *   - The built-in engine's offsets count appends (streams/offsets.ts, `offsetsCountAppends`): while every append since
 *     the last read was folded here and came right after the one before (its sequence number one
 *     past the last known tail's), nothing else landed in between, and the read starts at the
 *     tail instead, folding each event once (the monitor's ticks used to parse everything this
 *     process wrote a second time). Any gap, an external server's opaque offsets, or several
 *     nodes: the read starts at the last read offset, as above.
 *
 * Authorship: the fold remembers who started each message (first chunk wins); `append` refuses
 * (MessageAuthorshipError, 403) a chunk into a message someone else started, and the raw protocol gate checks and claims
 * in the same map (`messageAuthors`), so both write paths enforce one rule.
 */
import type { SessionEvent } from './session-events'
import type { MessageAuthors } from './event-ids'
import { claimMessages, emptyFold, foldMessages, type SessionFold } from './fold'
import { MessageAuthorshipError } from './session-errors'
import { appendJson, closeStream, type ReadResult, readJsonToTail, StreamClosedError, type StreamsEndpoint } from './streams-client'
import { sessionStreamPath } from './session-types'
import { decodeOffset } from '../streams/offsets'

export interface AppendResult {
  /** Tail offset after the write (for an all-duplicate retry: the current tail, at or after the original). */
  offset: string
  appended: number
  duplicates: number
}

interface Entry {
  /** `fold.offset` is where the last read ended: everything before it was folded in stream order. */
  fold: SessionFold
  loaded: boolean
  /** Latest tail we know of (an append's Stream-Next-Offset, or `fold.offset` after a read). */
  tail: string
  /** Events folded directly from our own appends since the last read (re-read by the next one). */
  unread: number
  /**
   * Everything up to `tail` is folded: the last read, then only appends folded here, each the
   * next append after the one before (so the next read can start at `tail`).
   */
  foldedToTail: boolean
  /** The stream may hold appends we did not fold: read before the next decision. */
  stale: boolean
  queue: Promise<unknown>
}

export interface AppendOptions {
  /** Close the stream in the same append. */
  close?: boolean
  /**
   * Events to append right after the fresh ones, in the same append (e.g. the server's accepted
   * turn records): computed from what is fresh and the fold before it; ones already in the stream are dropped.
   */
  follow?: (fresh: readonly SessionEvent[], fold: SessionFold) => SessionEvent[]
}

export class SessionLogs {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly now: () => number,
    /** Event ids kept exactly per session (older ones: Bloom filter + stream scan). */
    private readonly exactEventIds?: number,
    /**
     * Other processes append to these streams too (nodes sharing PostgreSQL): their appends never
     * pass through this process, so every decision (ids, authorship, closure) first reads what
     * landed since the last read. A read from the last offset is small; without it a node would
     * decide on a fold missing the other nodes' writes.
     */
    private readonly shared = false,
  ) {}

  private entry(sessionId: string): Entry {
    let e = this.entries.get(sessionId)
    if (!e) {
      const fold = emptyFold(this.exactEventIds)
      e = { fold, loaded: false, tail: fold.offset, unread: 0, foldedToTail: false, stale: false, queue: Promise.resolve() }
      this.entries.set(sessionId, e)
    }
    return e
  }

  /** Runs `fn` after every earlier operation on this session has finished. */
  private serialize<T>(sessionId: string, fn: (e: Entry) => Promise<T>): Promise<T> {
    const e = this.entry(sessionId)
    const run = e.queue.then(() => fn(e))
    e.queue = run.catch(() => undefined)
    return run
  }

  /**
   * Reads to the tail and folds it: from the tail we know when everything up to it is folded
   * (`foldedToTail`), else from the last read offset (re-folding our own unread appends).
   */
  private async read(sessionId: string, e: Entry): Promise<SessionFold> {
    if (e.fold.closed) return e.fold
    // Cleared before the read: a note that arrives while it runs keeps the session stale.
    e.stale = false
    const fromTail = e.loaded && e.foldedToTail && !this.shared
    let read: ReadResult
    try {
      read = await readJsonToTail(this.endpoint, sessionStreamPath(sessionId), fromTail ? e.tail : e.fold.offset)
    } catch (err) {
      e.stale = true
      throw err
    }
    // Our unread events are in this read again (unless it started at the tail): count them once.
    if (!fromTail) e.fold.events -= e.unread
    e.unread = 0
    foldMessages(e.fold, read.messages, this.now())
    e.fold.offset = read.nextOffset
    e.fold.closed = read.closed
    e.tail = read.nextOffset
    e.foldedToTail = true
    e.loaded = true
    return e.fold
  }

  /** Records an append folded here that ended at `offset`: still folded to the tail only if it was the next append. */
  private foldedAppend(e: Entry, offset: string): void {
    if (!this.endpoint.offsetsCountAppends) {
      e.foldedToTail = false
      return
    }
    const before = decodeOffset(e.tail)
    const after = decodeOffset(offset)
    e.foldedToTail = e.foldedToTail && before !== null && after !== null && after.seq === before.seq + 1
  }

  /** The fold, current enough for decisions: loaded, and caught up if something else appended. */
  private async current(sessionId: string, e: Entry): Promise<SessionFold> {
    if (!e.loaded || e.stale || this.shared) return this.read(sessionId, e)
    return e.fold
  }

  /** Reads whatever the stream has beyond the last read and returns the fold. */
  catchUp(sessionId: string): Promise<SessionFold> {
    return this.serialize(sessionId, (e) => this.read(sessionId, e))
  }

  /** The fold without a read unless one is needed (first use, or a foreign append was noted). */
  fold(sessionId: string): Promise<SessionFold> {
    return this.serialize(sessionId, (e) => this.current(sessionId, e))
  }

  /**
   * Something other than `append` wrote (or may have written) to the session's stream: the next
   * operation reads first. Synchronous, so a caller that notes before acknowledging its own
   * append guarantees every later write sees it.
   */
  noteForeignAppend(sessionId: string): void {
    const e = this.entries.get(sessionId)
    if (e) e.stale = true
  }

  /**
   * Folds events another writer appended through this process (the raw protocol gate: already
   * validated, authorship already claimed) ending at `offset`, without reading the stream. Like
   * our own appends they count as unread: the next read, in stream order, folds them again.
   * Null when the fold is not loaded (the caller reads instead).
   */
  foldAppended(sessionId: string, events: SessionEvent[], offset: string): Promise<SessionFold | null> {
    return this.serialize(sessionId, async (e) => {
      if (!e.loaded) return null
      // Already in a read that finished after the append: folded in order there.
      if (offset <= e.fold.offset) return e.fold
      foldMessages(e.fold, events, this.now())
      e.unread += events.length
      this.foldedAppend(e, offset)
      if (e.tail < offset) e.tail = offset
      return e.fold
    })
  }

  /**
   * Appends the events whose event ids the stream does not hold yet, as ONE append (optionally
   * closing the stream in the same step). Throws StreamClosedError / StreamNotFoundError.
   */
  append(sessionId: string, events: SessionEvent[], opts: AppendOptions = {}): Promise<AppendResult> {
    return this.serialize(sessionId, async (e) => {
      const fold = await this.current(sessionId, e)
      if (fold.closed) throw new StreamClosedError(sessionStreamPath(sessionId), e.tail)
      const conflict = claimMessages(fold.authors, events)
      if (conflict) throw new MessageAuthorshipError(conflict.index, conflict.messageId)
      const maybe = new Set<string>()
      for (const ev of events) if (fold.eventIds.has(ev.headers.eventId) === 'maybe') maybe.add(ev.headers.eventId)
      // Ids only the Bloom filter may know (old, or a false positive): the stream decides.
      const inStream = maybe.size > 0 ? await this.findInStream(sessionId, maybe) : maybe
      const seen = new Set<string>()
      const fresh = events.filter((ev) => {
        const id = ev.headers.eventId
        if (seen.has(id) || inStream.has(id) || fold.eventIds.has(id) === 'yes') return false
        seen.add(id)
        return true
      })
      const duplicates = events.length - fresh.length
      // Records that follow what this write adds (accepted turns), in the same atomic append; not counted.
      const follow = (opts.follow?.(fresh, fold) ?? []).filter((ev) => !seen.has(ev.headers.eventId) && fold.eventIds.has(ev.headers.eventId) !== 'yes')
      const written = follow.length > 0 ? [...fresh, ...follow] : fresh
      if (written.length === 0 && !opts.close) return { offset: e.tail, appended: 0, duplicates }
      const path = sessionStreamPath(sessionId)
      let offset: string
      try {
        if (written.length === 0) {
          await closeStream(this.endpoint, path)
          offset = e.tail
        } else {
          offset = await appendJson(this.endpoint, path, written, { close: opts.close })
        }
      } catch (err) {
        if (err instanceof StreamClosedError) fold.closed = true
        // The append may have committed after all (e.g. a timeout): re-read before deciding again.
        else e.stale = true
        throw err
      }
      if (opts.close || e.stale) {
        // Ending, or someone else appended meanwhile: fold from the stream, in its order.
        await this.read(sessionId, e).catch(() => undefined)
        if (opts.close) fold.closed = true
        if (e.tail < offset) e.tail = offset
      } else {
        foldMessages(fold, written, this.now())
        e.unread += written.length
        this.foldedAppend(e, offset)
        e.tail = offset
      }
      return { offset, appended: fresh.length, duplicates }
    })
  }

  /** Which of `ids` the stream holds: one full read, for ids the in-memory index no longer holds exactly. */
  private async findInStream(sessionId: string, ids: Set<string>): Promise<Set<string>> {
    const found = new Set<string>()
    const read = await readJsonToTail(this.endpoint, sessionStreamPath(sessionId), '-1')
    for (const m of read.messages) {
      const id = (m as { headers?: { eventId?: unknown } } | null)?.headers?.eventId
      if (typeof id === 'string' && ids.has(id)) found.add(id)
    }
    return found
  }

  /**
   * Who started each message of the session, for the raw protocol gate. No waiting behind queued
   * work once loaded: claims from both write paths land in this one map synchronously, so it is
   * current for everything written through this process even while the fold itself is stale.
   */
  async messageAuthors(sessionId: string): Promise<MessageAuthors> {
    const e = this.entries.get(sessionId)
    if (e?.loaded && !this.shared) return e.fold.authors
    return (await this.fold(sessionId)).authors
  }

  /** The fold as last read or written, without touching the stream (null if never loaded). */
  peek(sessionId: string): SessionFold | null {
    const e = this.entries.get(sessionId)
    return e?.loaded ? e.fold : null
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId)
  }
}
