/**
 * All rows of one of a session's small collections (presence, agent-state) as an external store
 * over the collection's change events, instead of a TanStack DB live query: a live query per hook
 * kept its own copy of the rows and ran a query pipeline on every change (three of them over
 * agent-state alone), and `useLiveQuery` brought TanStack DB's query engine into the JavaScript
 * the session page needs before it is interactive (~120 KB minified; `vite build`). Rows keep
 * their arrival order (callers derive their own order from `_seq` / timestamps); renders are
 * coalesced to at most one per animation frame. One store per collection, shared by every hook.
 */
import { useSyncExternalStore } from 'react'
import type { RowChange } from '../../lib/sessions/client/message-index'
import type { SessionConnection } from '../../lib/sessions/client/session-db'

type Name = 'presence' | 'agentState'

/** What this store uses of a TanStack DB collection (the same for each; their row types differ). */
interface ChangeSource {
  subscribeChanges(
    callback: (changes: ReadonlyArray<RowChange<unknown>>) => void,
    options: { includeInitialState: boolean },
  ): { unsubscribe(): void }
}

const NO_ROWS: readonly unknown[] = []

class RowStore {
  private readonly rows = new Map<string, unknown>()
  private readonly listeners = new Set<() => void>()
  private unsubscribe: (() => void) | undefined
  private frame: number | undefined
  private snapshot: readonly unknown[] = NO_ROWS

  constructor(private readonly collection: ChangeSource) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    if (this.listeners.size === 1) this.start()
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0) this.stop()
    }
  }

  readonly getSnapshot = (): readonly unknown[] => this.snapshot

  private start(): void {
    // includeInitialState: the rows already there arrive as one batch of inserts.
    const subscription = this.collection.subscribeChanges(
      (changes) => {
        for (const change of changes) {
          if (change.type === 'delete') this.rows.delete(String(change.key))
          else this.rows.set(String(change.key), change.value)
        }
        this.schedule()
      },
      { includeInitialState: true },
    )
    this.unsubscribe = () => subscription.unsubscribe()
    this.snapshot = this.rows.size ? [...this.rows.values()] : NO_ROWS
  }

  private stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    if (this.frame !== undefined) cancelAnimationFrame(this.frame)
    this.frame = undefined
    // A later subscriber gets the whole state again as initial inserts.
    this.rows.clear()
    this.snapshot = NO_ROWS
  }

  private schedule(): void {
    if (this.frame !== undefined || this.listeners.size === 0) return
    this.frame = requestAnimationFrame(() => {
      this.frame = undefined
      this.snapshot = [...this.rows.values()]
      for (const listener of [...this.listeners]) listener()
    })
  }
}

const stores = new WeakMap<object, RowStore>()

function storeOf(collection: ChangeSource): RowStore {
  let store = stores.get(collection)
  if (!store) {
    store = new RowStore(collection)
    stores.set(collection, store)
  }
  return store
}

const noSubscription = () => () => undefined
const noRows = () => NO_ROWS

/** Every row of the connection's `name` collection (empty without a connection). */
export function useCollectionRows<T>(connection: SessionConnection | undefined, name: Name): readonly T[] {
  const store = connection ? storeOf(connection.db.collections[name] as unknown as ChangeSource) : undefined
  return useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getSnapshot ?? noRows, noRows) as readonly T[]
}
