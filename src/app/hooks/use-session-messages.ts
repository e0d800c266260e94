/**
 * The conversation of a session as an external store over its chunk and tool-call collections:
 * collection change events feed a MessageIndex (incremental: a streamed token re-derives one
 * message), and React reads it with useSyncExternalStore. Renders are coalesced to at most one
 * per animation frame, so a fast token stream cannot queue more work than the screen shows.
 * Older messages fetched from the server's view (scrolling up: connection.history) come first.
 * One store per connection, shared by every component that shows the conversation.
 */
import { useSyncExternalStore } from 'react'
import type { Chunk, ToolCall } from '../../lib/sessions/channel-schemas'
import type { Message, RowMeta } from '../../lib/sessions/client/derive'
import { MessageIndex, type RowChange } from '../../lib/sessions/client/message-index'
import type { SessionConnection } from '../../lib/sessions/client/session-db'

const NO_MESSAGES: Message[] = []

class MessageStore {
  private index = new MessageIndex()
  private readonly listeners = new Set<() => void>()
  private unsubscribe: (() => void) | undefined
  private frame: number | undefined
  private snapshot: Message[] = NO_MESSAGES
  /** the older page list the snapshot was built with */
  private older: Message[] = NO_MESSAGES

  constructor(private readonly connection: SessionConnection) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.start()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  readonly getSnapshot = (): Message[] => this.snapshot

  private start(): void {
    const { chunks, toolCalls } = this.connection.db.collections
    // includeInitialState: the rows already there arrive as one batch of inserts.
    const a = chunks.subscribeChanges(
      (changes) => {
        this.index.applyChunks(changes as unknown as Array<RowChange<Chunk & RowMeta>>)
        this.schedule()
      },
      { includeInitialState: true },
    )
    const b = toolCalls.subscribeChanges(
      (changes) => {
        this.index.applyToolCalls(changes as unknown as Array<RowChange<ToolCall & RowMeta>>)
        this.schedule()
      },
      { includeInitialState: true },
    )
    const c = this.connection.history.subscribe(() => this.schedule())
    this.unsubscribe = () => {
      a.unsubscribe()
      b.unsubscribe()
      c()
    }
    this.snapshot = this.build()
  }

  /** Older pages (without messages the collections hold) before the collections' messages. */
  private build(): Message[] {
    const live = this.index.messages()
    this.older = this.connection.history.getSnapshot().messages
    if (this.older.length === 0) return live
    return [...this.older.filter((m) => !this.index.has(m.id)), ...live]
  }

  private stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    if (this.frame !== undefined) cancelAnimationFrame(this.frame)
    this.frame = undefined
    // A later subscriber gets the whole state again as initial inserts.
    this.index = new MessageIndex()
    this.snapshot = NO_MESSAGES
    this.older = NO_MESSAGES
  }

  private schedule(): void {
    if (this.frame !== undefined || this.listeners.size === 0) return
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined
      if (!this.index.changed && this.older === this.connection.history.getSnapshot().messages) return
      this.snapshot = this.build()
      for (const listener of [...this.listeners]) listener()
    })
  }
}

const stores = new WeakMap<SessionConnection, MessageStore>()

function storeOf(connection: SessionConnection): MessageStore {
  let store = stores.get(connection)
  if (!store) {
    store = new MessageStore(connection)
    stores.set(connection, store)
  }
  return store
}

const noSubscription = () => () => undefined
const noMessages = () => NO_MESSAGES

/** The conversation: messages derived from chunks (token by token), tool calls attached. */
export function useSessionMessages(connection: SessionConnection | undefined): { messages: Message[] } {
  const store = connection ? storeOf(connection) : undefined
  const messages = useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getSnapshot ?? noMessages, noMessages)
  return { messages }
}
