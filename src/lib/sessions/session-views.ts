/**
 * The session views the server holds (GET /api/sessions/:id/view answers from them; route in
 * session-view-api.ts), and their checkpoints (issue 10, "long sessions stay fast": the snapshot
 * cache).
 *
 * - In memory: the last few views opened, each brought up to date by reading only what was
 *   appended since its offset.
 * - In the database (view-checkpoints.ts): per session, what a head needs at some offset
 *   (SessionViewState.checkpoint). A view this process does not hold opens from the checkpoint and
 *   reads only the stream after it, instead of the whole stream: the first open of a long session
 *   after a restart, or on another node, costs a small read, not a replay. Such a view answers
 *   heads; older pages and longer heads make it read the whole stream once (`complete`).
 * - Checkpoints are written when a view has read CHECKPOINT_EVERY events since its last one (so a
 *   full first read leaves one behind), and by the monitor for live sessions nobody has opened
 *   (`checkpointLive`), so they stay within about that many events of the tail.
 */
import type { Logger } from '../common/logger'
import { sessionStreamPath } from './session-types'
import { SessionViewState } from './session-view'
import { readJsonToTail, StreamNotFoundError, type StreamsEndpoint } from './streams-client'
import type { ViewCheckpointStore } from './view-checkpoints'

/** Views kept (least recently opened dropped first): each holds its session's current rows. */
const KEPT_VIEWS = 16
/**
 * And at most this many rows in all (a compacted 10,000-message session is ~27,000; an uncompacted
 * one ten times that): the one just read is always kept.
 */
const KEPT_ROWS = 1_000_000
/** A view is checkpointed once it has read this many events since its last checkpoint. */
export const CHECKPOINT_EVERY = 2_000

interface Entry {
  state: SessionViewState | null
  /** events read into `state` since it was last checkpointed */
  unsaved: number
  queue: Promise<unknown>
}

export interface SessionViewsOptions {
  /** Where checkpoints are kept; without one, every view's first open reads its whole stream. */
  checkpoints?: ViewCheckpointStore
  checkpointEvery?: number
  kept?: number
  logger?: Logger
}

/** How views were opened, for tests and the logs. */
export interface ViewCounts {
  /** read from the stream's start */
  fullReads: number
  /** opened from a checkpoint */
  fromCheckpoint: number
  checkpointsSaved: number
}

export class SessionViews {
  private readonly entries = new Map<string, Entry>()
  /** Per live session: the fold's event count at the monitor's last checkpoint of it. */
  private readonly liveMarks = new Map<string, number>()
  private readonly every: number
  readonly counts: ViewCounts = { fullReads: 0, fromCheckpoint: 0, checkpointsSaved: 0 }

  constructor(
    private readonly endpoint: StreamsEndpoint,
    private readonly opts: SessionViewsOptions = {},
  ) {
    this.every = opts.checkpointEvery ?? CHECKPOINT_EVERY
  }

  /**
   * The session's view, current to the stream's tail (one read of what is new). `complete`: one
   * that answers older pages too (not opened from a checkpoint).
   */
  current(sessionId: string, opts: { complete?: boolean } = {}): Promise<SessionViewState> {
    let entry = this.entries.get(sessionId)
    if (entry) this.entries.delete(sessionId)
    else entry = { state: null, unsaved: 0, queue: Promise.resolve() }
    this.entries.set(sessionId, entry) // most recently used last
    for (const id of this.entries.keys()) {
      if (this.entries.size <= (this.opts.kept ?? KEPT_VIEWS)) break
      this.entries.delete(id)
    }
    const held = entry
    const run = held.queue.then(async () => {
      const state = await this.upToDate(sessionId, held, opts.complete === true)
      this.trim(held)
      if (held.unsaved >= this.every) this.save(sessionId, held)
      return state
    })
    held.queue = run.catch(() => undefined)
    return run
  }

  /**
   * The monitor's part: a live session whose fold counted `events` is checkpointed once
   * CHECKPOINT_EVERY events were written since the last time, held in memory or not.
   */
  async checkpointLive(sessionId: string, events: number): Promise<void> {
    if (!this.opts.checkpoints) return
    const mark = this.liveMarks.get(sessionId) ?? 0
    if (events - mark < this.every) return
    this.liveMarks.set(sessionId, events)
    const held = this.entries.get(sessionId)
    if (held) {
      // A held view: bring it up to date in its queue, which saves it when enough was read.
      const run = held.queue.then(async () => {
        await this.upToDate(sessionId, held, false)
        if (held.unsaved >= this.every) this.save(sessionId, held)
      })
      held.queue = run.catch(() => undefined)
      return run
    }
    const transient: Entry = { state: null, unsaved: 0, queue: Promise.resolve() }
    // A checkpoint read after a restart with little new after it is left as it is.
    await this.upToDate(sessionId, transient, false)
    if (transient.unsaved >= this.every) await this.saveNow(sessionId, transient)
  }

  /** The monitor is done with a session (it ended). */
  forgetLive(sessionId: string): void {
    this.liveMarks.delete(sessionId)
  }

  /** A deleted session's view goes with it (its checkpoint goes with the session's row). */
  forget(sessionId: string): void {
    this.entries.delete(sessionId)
    this.liveMarks.delete(sessionId)
  }

  private async upToDate(sessionId: string, held: Entry, complete: boolean): Promise<SessionViewState> {
    if (!held.state || (complete && held.state.partial)) await this.open(sessionId, held, complete)
    await this.readInto(sessionId, held)
    if (held.state?.stale) {
      // A write touched what the checkpoint left out: read the whole stream instead.
      held.state = null
      await this.open(sessionId, held, true)
      await this.readInto(sessionId, held)
    }
    return held.state as SessionViewState
  }

  private async open(sessionId: string, held: Entry, complete: boolean): Promise<void> {
    const checkpoint = complete ? null : await this.loadCheckpoint(sessionId)
    held.state = checkpoint ? SessionViewState.fromCheckpoint(checkpoint) : new SessionViewState()
    held.unsaved = 0
    if (checkpoint) this.counts.fromCheckpoint++
    else this.counts.fullReads++
  }

  private async readInto(sessionId: string, held: Entry): Promise<void> {
    const state = held.state as SessionViewState
    let read: Awaited<ReturnType<typeof readJsonToTail>>
    try {
      read = await readJsonToTail(this.endpoint, sessionStreamPath(sessionId), state.offset)
    } catch (err) {
      // A checkpoint's offset the stream refuses (not a missing stream): start from the beginning.
      if (err instanceof StreamNotFoundError || state.offset === '-1') throw err
      this.opts.logger?.warn({ err, sessionId }, 'could not read a session stream after its view checkpoint; reading it whole')
      held.state = new SessionViewState()
      held.unsaved = 0
      this.counts.fullReads++
      return this.readInto(sessionId, held)
    }
    state.apply(read.messages, read.nextOffset)
    held.unsaved += read.messages.length
  }

  private async loadCheckpoint(sessionId: string) {
    try {
      return (await this.opts.checkpoints?.load(sessionId)) ?? null
    } catch (err) {
      this.opts.logger?.warn({ err, sessionId }, 'could not load a session view checkpoint')
      return null
    }
  }

  /** In the background: an answer never waits for its checkpoint. */
  private save(sessionId: string, held: Entry): void {
    void this.saveNow(sessionId, held)
  }

  private async saveNow(sessionId: string, held: Entry): Promise<void> {
    const store = this.opts.checkpoints
    if (!store || !held.state || held.state.stale) return
    const checkpoint = held.state.checkpoint()
    held.unsaved = 0
    try {
      await store.save(sessionId, checkpoint)
      this.counts.checkpointsSaved++
    } catch (err) {
      this.opts.logger?.warn({ err, sessionId }, 'could not save a session view checkpoint')
    }
  }

  private trim(keep: Entry): void {
    let rows = 0
    for (const e of this.entries.values()) rows += e.state?.size ?? 0
    for (const [id, e] of this.entries) {
      if (rows <= KEPT_ROWS) break
      if (e === keep) continue
      rows -= e.state?.size ?? 0
      this.entries.delete(id)
    }
  }
}
