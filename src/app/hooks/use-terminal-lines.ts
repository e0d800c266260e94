/**
 * The terminal channel's rows in stream order, as an external store over the terminal collection
 * (not a TanStack DB live query). A live query keeps a second collection of every row and runs its
 * pipeline over all of them when the catch-up commits: for a long session's 10,000 kept output
 * lines (100,000 uncompacted) that was a large part of opening the page (session-page bench).
 * Terminal lines are immutable and arrive in stream order, so a batch of confirmed lines after the
 * last one is appended; anything else (an optimistic line, its confirmation, a delete, a reset)
 * re-sorts. Renders are coalesced to at most one per animation frame. One store per connection.
 * Earlier windows fetched from the server's view (connection.history) come before every row.
 */
import { useSyncExternalStore } from 'react'
import type { TerminalLine } from '../../lib/sessions/channel-schemas'
import type { RowMeta } from '../../lib/sessions/client/derive'
import type { RowChange } from '../../lib/sessions/client/message-index'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import { sortTerminal } from '../../lib/sessions/client/terminal-derive'

type Line = TerminalLine & RowMeta

const NO_LINES: Line[] = []

class TerminalLineStore {
  private rows = new Map<string, Line>()
  private readonly listeners = new Set<() => void>()
  private unsubscribe: (() => void) | undefined
  private frame: number | undefined
  private lines: Line[] = NO_LINES
  /** confirmed lines that follow every line in `lines` (in arrival order) */
  private appended: Line[] = []
  private resort = false
  /** the earlier lines the current `lines` were sorted with */
  private earlier: Line[] = NO_LINES

  constructor(private readonly connection: SessionConnection) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.start()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  readonly getSnapshot = (): Line[] => this.lines

  private apply(changes: ReadonlyArray<RowChange<Line>>): void {
    const last = this.appended[this.appended.length - 1] ?? this.lines[this.lines.length - 1]
    let lastSeq = last === undefined ? Number.NEGATIVE_INFINITY : (last._seq ?? Number.POSITIVE_INFINITY)
    for (const change of changes) {
      const key = String(change.key)
      if (change.type === 'delete') {
        this.rows.delete(key)
        this.resort = true
        continue
      }
      const seq = change.value._seq
      if (change.type === 'update' || seq === undefined || seq <= lastSeq) this.resort = true
      else {
        this.appended.push(change.value)
        lastSeq = seq
      }
      this.rows.set(key, change.value)
    }
  }

  private flush(): boolean {
    if (this.resort) {
      this.earlier = this.connection.history.getSnapshot().terminal
      const held = this.earlier.filter((l) => !this.rows.has(l.id))
      this.lines = sortTerminal([...held, ...this.rows.values()])
    }
    else if (this.appended.length > 0) this.lines = this.lines.concat(this.appended)
    else return false
    this.resort = false
    this.appended = []
    return true
  }

  private start(): void {
    // includeInitialState: the rows already there arrive at once as inserts.
    const subscription = this.connection.db.collections.terminal.subscribeChanges(
      (changes) => {
        this.apply(changes as unknown as Array<RowChange<Line>>)
        this.schedule()
      },
      { includeInitialState: true },
    )
    const history = this.connection.history.subscribe(() => {
      if (this.connection.history.getSnapshot().terminal === this.earlier) return
      this.resort = true
      this.schedule()
    })
    this.unsubscribe = () => {
      subscription.unsubscribe()
      history()
    }
    this.resort = this.resort || this.connection.history.getSnapshot().terminal.length > 0
    this.flush()
  }

  private stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    if (this.frame !== undefined) cancelAnimationFrame(this.frame)
    this.frame = undefined
    // A later subscriber gets the whole state again as initial inserts.
    this.rows = new Map()
    this.lines = NO_LINES
    this.appended = []
    this.resort = false
    this.earlier = NO_LINES
  }

  private schedule(): void {
    if (this.frame !== undefined || this.listeners.size === 0) return
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined
      if (!this.flush()) return
      for (const listener of [...this.listeners]) listener()
    })
  }
}

const stores = new WeakMap<SessionConnection, TerminalLineStore>()

function storeOf(connection: SessionConnection): TerminalLineStore {
  let store = stores.get(connection)
  if (!store) {
    store = new TerminalLineStore(connection)
    stores.set(connection, store)
  }
  return store
}

const noSubscription = () => () => undefined
const noLines = () => NO_LINES

/** The session's terminal lines in stream order (optimistic lines last). */
export function useTerminalLines(connection: SessionConnection | undefined): Line[] {
  const store = connection ? storeOf(connection) : undefined
  return useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getSnapshot ?? noLines, noLines)
}
