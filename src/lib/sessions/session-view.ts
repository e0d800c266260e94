/**
 * The materialised state of one session stream at an offset, kept so that the session page can
 * open from its newest part (GET /api/sessions/:id/view, session-view-api.ts) instead of replaying
 * the whole stream in the browser. Fed with the stream's events in order (`apply`); answers
 * windows of it as State Protocol change events, in the order a full replay would leave them:
 *
 * - every entry is the last write per (type, key), ordered by where that last write was (StreamDB
 *   stamps `_seq` on every write, so a replay orders rows by their last write, not their first);
 * - messages (chunk and tool-call rows grouped by messageId) ordered as the UI orders them: by the
 *   earliest row's position; the newest N, plus every message not finished yet (so nothing
 *   outside the window can still change); older pages by `before`;
 * - a finished message whose chunks are complete is answered as compaction stores it (its first
 *   chunk and one folded chunk with the whole text), which derives to the same message;
 * - turn records of the window's messages and each agent's newest unfinished turn (what "Stop"
 *   acts on; an old turn a dead worker never finished stays with its message); the other
 *   agent-state entries, presence and unknown channels whole;
 * - the terminal's newest 1,000 output rows / 256 KiB (HEAD_TERMINAL_WINDOW) plus the last resize
 *   before them; earlier windows, at the pane's size (terminal-derive TERMINAL_WINDOW), by
 *   `terminalBefore`.
 */
import { windowStart, TERMINAL_WINDOW } from './client/terminal-derive'
import { FINAL_TURN_STATUSES, type TurnStatus } from './channel-schemas'

/** A State Protocol change event as stored (loose JSON). */
export interface ChangeEvent {
  type: string
  key: string
  value?: Record<string, unknown>
  headers: Record<string, unknown>
}

interface Row {
  event: ChangeEvent
  /** position of the row's last write in this view's reading of the stream */
  at: number
}

interface MessageRows {
  rows: Map<string, Row>
}

export interface ViewPage {
  /** change events, in the order a full replay leaves their rows */
  events: ChangeEvent[]
  /** the oldest message in `events` when older ones exist (the next page's `before`), else null */
  olderBefore: string | null
  /** the first terminal line of `events` when earlier output exists (`terminalBefore`), else null */
  terminalBefore: string | null
}

export const DEFAULT_VIEW_MESSAGES = 200
/**
 * The head's terminal part: smaller than the pane's window (5,000 rows / 2 MiB), which was most of
 * a long session's view (2.5 MB, 5,000 events in the session-page bench) and of the page's work to
 * open it; the rest of that window is one "Load earlier output" away.
 */
export const HEAD_TERMINAL_WINDOW = { rows: 1_000, chars: 256 * 1024 }
export const MAX_VIEW_MESSAGES = 1000
/** The newest messages a checkpoint keeps whole: the largest `limit` a view opened from one answers. */
export const CHECKPOINT_MESSAGES = DEFAULT_VIEW_MESSAGES

/**
 * What a head of up to CHECKPOINT_MESSAGES needs, at `offset` (view-checkpoints.ts keeps
 * it in the database): every row except finished messages older than the newest
 * CHECKPOINT_MESSAGES (named in `omittedMessages`), final turn records of those, and terminal rows
 * before the head's window (but the last resize before it). A view opened from it and fed the
 * stream after `offset` answers `head` exactly as a full replay would.
 */
export interface ViewCheckpoint {
  offset: string
  /** the kept rows, in the order their last writes have in the stream */
  events: ChangeEvent[]
  omittedMessages: string[]
  /** terminal output before the first terminal row kept exists */
  terminalOmitted: boolean
}

function isChangeEvent(event: unknown): event is ChangeEvent {
  if (typeof event !== 'object' || event === null) return false
  const e = event as Record<string, unknown>
  return typeof e.type === 'string' && typeof e.key === 'string' && typeof e.headers === 'object' && e.headers !== null
}

function isReset(event: unknown): boolean {
  const headers = (event as { headers?: { control?: unknown } } | null)?.headers
  return typeof headers === 'object' && headers !== null && headers.control === 'reset'
}

const MESSAGE_TYPES = new Set(['chunk', 'tool-call'])
const FINAL_CALL_STATUSES = new Set(['succeeded', 'failed', 'cancelled'])
const rowId = (type: string, key: string) => `${type}\u0000${key}`

export class SessionViewState {
  offset = '-1'
  private next = 0
  private readonly messages = new Map<string, MessageRows>()
  /** row id → messageId, for chunk and tool-call rows */
  private readonly messageOf = new Map<string, string>()
  /** everything else by row id; Map order is not relied on (rows carry `at`) */
  private readonly others = new Map<string, Row>()
  private readonly terminal = new Map<string, Row>()
  private sorted: { messages: string[]; index: Map<string, number> } | undefined
  private terminalList: Row[] | undefined
  /** Left out by the checkpoint this view was opened from: finished messages, each older than every one held. */
  private omitted = new Set<string>()
  private terminalOmitted = false
  /**
   * A write touched a message the checkpoint left out: this view no longer equals a full replay's.
   * Whoever holds it reads the stream from the start instead (SessionViews does).
   */
  stale = false

  /** Opened from a checkpoint: answers `head` up to CHECKPOINT_MESSAGES, not older pages. */
  get partial(): boolean {
    return this.omitted.size > 0 || this.terminalOmitted
  }

  /** Rows held (what the view costs in memory, roughly proportional). */
  get size(): number {
    return this.messageOf.size + this.others.size + this.terminal.size
  }

  /** Folds one read of the stream in (events in stream order, ending at `offset`). */
  apply(events: readonly unknown[], offset: string): void {
    for (const event of events) {
      if (isReset(event)) {
        this.clear()
        continue
      }
      if (!isChangeEvent(event)) continue
      this.write(event)
    }
    this.offset = offset
  }

  private clear(): void {
    this.omitted = new Set()
    this.terminalOmitted = false
    this.stale = false
    this.messages.clear()
    this.messageOf.clear()
    this.others.clear()
    this.terminal.clear()
    this.sorted = undefined
    this.terminalList = undefined
  }

  private write(event: ChangeEvent): void {
    const id = rowId(event.type, event.key)
    const remove = event.headers.operation === 'delete'
    const row: Row = { event, at: this.next++ }
    if (MESSAGE_TYPES.has(event.type)) {
      this.sorted = undefined
      const before = this.messageOf.get(id)
      // A row of a message the checkpoint left out (or one whose message we cannot tell) would
      // change a message this view does not hold. Row keys are per message (`<messageId>:…`).
      if (before === undefined && this.omitted.size > 0) {
        const of = event.value?.messageId
        if (typeof of !== 'string' || this.omitted.has(of)) this.stale = true
      }
      if (before !== undefined) {
        const group = this.messages.get(before)
        group?.rows.delete(id)
        if (group?.rows.size === 0) this.messages.delete(before)
        this.messageOf.delete(id)
      }
      const messageId = event.value?.messageId
      if (remove || typeof messageId !== 'string') return
      let group = this.messages.get(messageId)
      if (!group) this.messages.set(messageId, (group = { rows: new Map() }))
      group.rows.set(id, row)
      this.messageOf.set(id, messageId)
      return
    }
    const table = event.type === 'terminal' ? this.terminal : this.others
    if (event.type === 'terminal') this.terminalList = undefined
    table.delete(id)
    if (!remove) table.set(id, row)
  }

  /** Messages ordered as the UI orders them (earliest row, then id), and each one's index. */
  private order(): { messages: string[]; index: Map<string, number> } {
    if (this.sorted) return this.sorted
    const first = new Map<string, number>()
    for (const [id, group] of this.messages) {
      let min = Number.POSITIVE_INFINITY
      for (const row of group.rows.values()) if (row.at < min) min = row.at
      first.set(id, min)
    }
    const messages = [...this.messages.keys()].sort((a, b) => (first.get(a) as number) - (first.get(b) as number) || (a < b ? -1 : 1))
    this.sorted = { messages, index: new Map(messages.map((m, i) => [m, i])) }
    return this.sorted
  }

  private terminalRows(): Row[] {
    this.terminalList ??= [...this.terminal.values()].sort((a, b) => a.at - b.at)
    return this.terminalList
  }

  /** The newest `limit` messages (and unfinished ones), everything else current, the newest terminal window. */
  head(limit = DEFAULT_VIEW_MESSAGES): ViewPage {
    const { messages } = this.order()
    const from = Math.max(0, messages.length - limit)
    const chosen = new Set(messages.slice(from))
    for (const id of messages.slice(0, from)) if (!this.isFinished(id)) chosen.add(id)
    const rows: Row[] = []
    for (const id of chosen) rows.push(...this.messageRows(id))
    const current = this.currentTurns()
    for (const row of this.others.values()) {
      const value = row.event.value
      if (row.event.type === 'agent-state' && value?.kind === 'turn' && !chosen.has(String(value.messageId)) && !current.has(row)) continue
      rows.push(row)
    }
    const terminal = this.terminalRows()
    const start = this.terminalStart(terminal, terminal.length, HEAD_TERMINAL_WINDOW)
    rows.push(...this.withSize(terminal, start))
    // From a checkpoint, what it left out is older than all held: the first held starts the window.
    const olderAt = from > 0 ? from : this.omitted.size > 0 ? 0 : -1
    const terminalAt = start > 0 ? start : this.terminalOmitted ? 0 : -1
    return {
      events: rows.sort((a, b) => a.at - b.at).map((r) => r.event),
      olderBefore: olderAt >= 0 ? (messages[olderAt] ?? null) : null,
      terminalBefore: terminalAt >= 0 ? (terminal[terminalAt]?.event.key ?? null) : null,
    }
  }

  /** What a view opened later needs to answer heads (see ViewCheckpoint), at this view's offset. */
  checkpoint(): ViewCheckpoint {
    const { messages } = this.order()
    const from = Math.max(0, messages.length - CHECKPOINT_MESSAGES)
    const omitted = [...this.omitted]
    const kept = new Set<string>()
    messages.forEach((id, i) => {
      if (i >= from || !this.isFinished(id)) kept.add(id)
      else omitted.push(id)
    })
    const rows: Row[] = []
    for (const id of kept) rows.push(...(this.messages.get(id)?.rows.values() ?? []))
    for (const row of this.others.values()) {
      const value = row.event.value
      const finalTurn = row.event.type === 'agent-state' && value?.kind === 'turn' && FINAL_TURN_STATUSES.includes(value.status as TurnStatus)
      if (!finalTurn || kept.has(String(value?.messageId))) rows.push(row)
    }
    const terminal = this.terminalRows()
    const start = this.terminalStart(terminal, terminal.length, HEAD_TERMINAL_WINDOW)
    rows.push(...this.withSize(terminal, start))
    return {
      offset: this.offset,
      events: rows.sort((a, b) => a.at - b.at).map((r) => r.event),
      omittedMessages: omitted,
      terminalOmitted: start > 0 || this.terminalOmitted,
    }
  }

  /** A view that answers heads from a checkpoint (read the stream after `checkpoint.offset` into it). */
  static fromCheckpoint(checkpoint: ViewCheckpoint): SessionViewState {
    const state = new SessionViewState()
    for (const event of checkpoint.events) if (isChangeEvent(event)) state.write(event)
    state.omitted = new Set(checkpoint.omittedMessages)
    state.terminalOmitted = checkpoint.terminalOmitted
    state.offset = checkpoint.offset
    return state
  }

  /** Up to `limit` finished messages before `before` (a message id), with their turn records. Null: unknown id. */
  older(before: string, limit = DEFAULT_VIEW_MESSAGES): ViewPage | null {
    const { messages, index } = this.order()
    const end = index.get(before)
    if (end === undefined) return null
    const from = Math.max(0, end - limit)
    const chosen = new Set(messages.slice(from, end).filter((id) => this.isFinished(id)))
    const rows: Row[] = []
    for (const id of chosen) rows.push(...this.messageRows(id))
    for (const row of this.others.values()) {
      const value = row.event.value
      if (row.event.type === 'agent-state' && value?.kind === 'turn' && chosen.has(String(value.messageId))) rows.push(row)
    }
    return {
      events: rows.sort((a, b) => a.at - b.at).map((r) => r.event),
      olderBefore: from > 0 ? (messages[from] ?? null) : null,
      terminalBefore: null,
    }
  }

  /** The terminal window that ends before line `before` (a terminal line id). Null: unknown id. */
  terminalBefore(before: string): ViewPage | null {
    const terminal = this.terminalRows()
    const end = terminal.findIndex((r) => r.event.key === before)
    if (end === -1) return null
    const start = this.terminalStart(terminal, end)
    return {
      events: terminal.slice(start, end).map((r) => r.event),
      olderBefore: null,
      terminalBefore: start > 0 ? (terminal[start]?.event.key ?? null) : null,
    }
  }

  private terminalStart(terminal: Row[], end: number, limit = TERMINAL_WINDOW): number {
    const lines = terminal.map((r) => ({ kind: r.event.value?.kind, data: r.event.value?.data }) as { kind: 'output'; data?: string })
    return windowStart(lines, end, limit)
  }

  /** The window's rows, and the last resize before it (the pty's size where the window starts). */
  private withSize(terminal: Row[], start: number): Row[] {
    const rows = terminal.slice(start)
    for (let i = start - 1; i >= 0; i--) {
      if (terminal[i].event.value?.kind === 'resize') {
        rows.unshift(terminal[i])
        break
      }
    }
    return rows
  }

  /** Per agent, its newest unfinished turn record (by acceptance, then turn number: client/turns.ts). */
  private currentTurns(): Set<Row> {
    const newest = new Map<string, Row>()
    const rank = (v: Record<string, unknown> | undefined) => [Number(v?.acceptedAt ?? 0), Number(v?.turn ?? 0)]
    for (const row of this.others.values()) {
      const value = row.event.value
      if (row.event.type !== 'agent-state' || value?.kind !== 'turn' || FINAL_TURN_STATUSES.includes(value.status as TurnStatus)) continue
      const agent = String(value.agentId ?? '')
      const held = newest.get(agent)
      const [a, t] = rank(value)
      const [ha, ht] = rank(held?.event.value)
      if (!held || a > ha || (a === ha && t > ht)) newest.set(agent, row)
    }
    return new Set(newest.values())
  }

  private isFinished(messageId: string): boolean {
    const group = this.messages.get(messageId)
    if (!group) return true
    let chunks = 0
    let openCalls = 0
    for (const row of group.rows.values()) {
      const value = row.event.value
      if (row.event.type === 'chunk') {
        chunks++
        if (value?.done === true || value?.folded !== undefined) return true
      } else if (!FINAL_CALL_STATUSES.has(String(value?.status))) openCalls++
    }
    // A message of tool calls only (no text) is finished when every call is.
    return chunks === 0 && openCalls === 0
  }

  /**
   * A message's rows; a finished message with every chunk (seqs 0..done, one author and role, no
   * folded chunk yet) as its first chunk plus a folded one, as compaction would store it.
   */
  private messageRows(messageId: string): Row[] {
    const group = this.messages.get(messageId)
    if (!group) return []
    const rows = [...group.rows.values()]
    const chunks = rows.filter((r) => r.event.type === 'chunk').sort((a, b) => Number(a.event.value?.seq) - Number(b.event.value?.seq))
    const last = chunks[chunks.length - 1]?.event.value
    const foldable =
      chunks.length > 2 &&
      last?.done === true &&
      chunks.every(
        (c, i) =>
          c.event.value?.seq === i &&
          c.event.value.folded === undefined &&
          c.event.value.author === last.author &&
          c.event.value.role === last.role &&
          (i === chunks.length - 1 || c.event.value.done !== true),
      )
    if (!foldable) return rows
    const done = chunks[chunks.length - 1]
    const text = chunks.map((c) => String(c.event.value?.delta ?? '')).join('')
    const folded: Row = {
      at: done.at,
      event: {
        type: 'chunk',
        key: `${messageId}:folded`,
        value: { ...done.event.value, id: `${messageId}:folded`, delta: text, done: true, folded: chunks.length },
        headers: { ...done.event.headers, operation: 'upsert' },
      },
    }
    const middle = new Set(chunks.slice(1))
    return [...rows.filter((r) => !middle.has(r)), folded]
  }
}
