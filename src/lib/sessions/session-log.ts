/**
 * Per-session view of the session's stream, kept in memory and rebuilt from the stream itself
 * (so it is right after a restart): the fold (usage, event ids, agents) and the tail offset.
 *
 * All work on one session is serialized here, so "check event ids, then append" is atomic for
 * every write that goes through this process. Writes that bypass it (raw protocol appends by
 * workers) are picked up by the catch-up read that precedes every append.
 */
import type { SessionEvent } from './channels'
import { emptyFold, foldMessages, type SessionFold } from './fold'
import { appendJson, closeStream, readJsonToTail, StreamClosedError, type StreamsEndpoint } from './streams-client'
import { sessionStreamPath } from './session-types'

export interface AppendResult {
  /** Tail offset after the write (for an all-duplicate retry: the current tail, at or after the original). */
  offset: string
  appended: number
  duplicates: number
}

interface Entry {
  fold: SessionFold
  queue: Promise<unknown>
}

export class SessionLogs {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly now: () => number,
  ) {}

  private entry(sessionId: string): Entry {
    let e = this.entries.get(sessionId)
    if (!e) {
      e = { fold: emptyFold(), queue: Promise.resolve() }
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

  private async catchUpInner(sessionId: string, e: Entry): Promise<SessionFold> {
    if (e.fold.closed) return e.fold
    const read = await readJsonToTail(this.endpoint, sessionStreamPath(sessionId), e.fold.offset)
    foldMessages(e.fold, read.messages, this.now())
    e.fold.offset = read.nextOffset
    e.fold.closed = read.closed
    return e.fold
  }

  /** Reads whatever the stream has beyond the last fold and returns the fold. */
  catchUp(sessionId: string): Promise<SessionFold> {
    return this.serialize(sessionId, (e) => this.catchUpInner(sessionId, e))
  }

  /**
   * Appends the events whose event ids the stream does not hold yet, as ONE append (optionally
   * closing the stream in the same step). Throws StreamClosedError / StreamNotFoundError.
   */
  append(sessionId: string, events: SessionEvent[], opts: { close?: boolean } = {}): Promise<AppendResult> {
    return this.serialize(sessionId, async (e) => {
      const fold = await this.catchUpInner(sessionId, e)
      if (fold.closed) throw new StreamClosedError(sessionStreamPath(sessionId), fold.offset)
      const seen = new Set<string>()
      const fresh = events.filter((ev) => {
        const id = ev.headers.eventId
        if (fold.eventIds.has(id) || seen.has(id)) return false
        seen.add(id)
        return true
      })
      const duplicates = events.length - fresh.length
      if (fresh.length === 0 && !opts.close) return { offset: fold.offset, appended: 0, duplicates }
      let offset: string
      try {
        if (fresh.length === 0) {
          await closeStream(this.endpoint, sessionStreamPath(sessionId))
          offset = fold.offset
        } else {
          offset = await appendJson(this.endpoint, sessionStreamPath(sessionId), fresh, { close: opts.close })
        }
      } catch (err) {
        if (err instanceof StreamClosedError) fold.closed = true
        throw err
      }
      // Fold from the stream, not from `fresh`: another writer may have appended in between.
      await this.catchUpInner(sessionId, e)
      return { offset, appended: fresh.length, duplicates }
    })
  }

  /** The fold as last read, without touching the stream (null if never read). */
  peek(sessionId: string): SessionFold | null {
    return this.entries.get(sessionId)?.fold ?? null
  }

  forget(sessionId: string): void {
    this.entries.delete(sessionId)
  }
}
