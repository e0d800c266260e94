/**
 * Live views of one session over the session's StreamDB collections (external stores over their
 * change events: use-collection-rows.ts, use-session-messages.ts, use-terminal-lines.ts), shaped by the pure
 * derivations in lib/sessions/client/derive.ts.
 */
import { useMemo, useSyncExternalStore } from 'react'
import { useCollectionRows } from './use-collection-rows'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import {
  deriveAgentSummary,
  deriveCommandBlocks,
  deriveCommandHistory,
  type AgentSummary,
  type CommandBlock,
  type RowMeta,
} from '../../lib/sessions/client/derive'
import type { AgentStateEntry, Presence, TerminalLine } from '../../lib/sessions/channel-schemas'
import { useTerminalLines } from './use-terminal-lines'

// The conversation is an incremental store of its own (not a live query over every chunk).
export { useSessionMessages } from './use-session-messages'

// The terminal too: its rows are an append-mostly store (use-terminal-lines.ts), not a live query.
export { useTerminalLines } from './use-terminal-lines'

export function usePresenceRows(connection: SessionConnection | undefined): Array<Presence & RowMeta> {
  return useCollectionRows<Presence & RowMeta>(connection, 'presence') as Array<Presence & RowMeta>
}

const noSubscription = () => () => undefined
const never = () => false

/**
 * Terminal lines in stream order, command blocks with their output, everyone's command history,
 * and whether earlier output is on the server (a page opened from the view holds the newest window).
 */
export function useTerminal(connection: SessionConnection | undefined): {
  lines: Array<TerminalLine & RowMeta>
  blocks: CommandBlock[]
  history: string[]
  earlier: { available: boolean; load(): Promise<void> }
} {
  const lines = useTerminalLines(connection)
  const blocks = useMemo(() => deriveCommandBlocks(lines), [lines])
  const history = useMemo(() => deriveCommandHistory(lines), [lines])
  const store = connection?.history
  const available = useSyncExternalStore(
    store?.subscribe ?? noSubscription,
    store ? () => store.getSnapshot().hasEarlierTerminal : never,
    never,
  )
  const earlier = useMemo(() => ({ available, load: () => store?.loadEarlierTerminal() ?? Promise.resolve() }), [available, store])
  return { lines, blocks, history, earlier }
}

/** Older messages than the page opened with are on the server: load them (scrolling up). */
export function useOlderMessages(connection: SessionConnection | undefined): { available: boolean; loading: boolean; load(): void } {
  const store = connection?.history
  const snapshot = useSyncExternalStore(store?.subscribe ?? noSubscription, store?.getSnapshot ?? noHistory, noHistory)
  return useMemo(
    () => ({ available: snapshot.hasOlderMessages, loading: snapshot.loading, load: () => void store?.loadOlderMessages().catch(() => undefined) }),
    [snapshot, store],
  )
}
const NO_HISTORY = { hasOlderMessages: false, loading: false }
const noHistory = () => NO_HISTORY

export function useAgentState(connection: SessionConnection | undefined): AgentSummary {
  const rows = useCollectionRows<AgentStateEntry & RowMeta>(connection, 'agentState')
  return useMemo(() => deriveAgentSummary(rows as Array<AgentStateEntry & RowMeta>), [rows])
}
