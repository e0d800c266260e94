import { useMemo, useSyncExternalStore } from 'react'
import { useCollectionRows } from './use-collection-rows'
import type { AgentStateEntry } from '../../lib/sessions/channel-schemas'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import type { ViewHistorySnapshot } from '../../lib/sessions/client/session-view'
import { deriveTurns, type TurnViews } from '../../lib/sessions/client/turns'

const noSubscription = () => () => undefined
const NO_TURNS: AgentStateEntry[] = []
const noTurns = () => NO_TURNS

/**
 * Each user message's turn (from the agent-state turn records) and the current one. Turn records
 * of older messages fetched from the view (connection.history) come first; the collection's win.
 */
export function useTurns(connection: SessionConnection | undefined, authorOf: (id: string) => { name: string }): TurnViews {
  const data = useCollectionRows<AgentStateEntry>(connection, 'agentState')
  const history = connection?.history
  const older = useSyncExternalStore(
    history?.subscribe ?? noSubscription,
    history ? () => (history.getSnapshot() as ViewHistorySnapshot).turns : noTurns,
    noTurns,
  )
  return useMemo(() => deriveTurns([...older, ...data], (id) => authorOf(id).name), [older, data, authorOf])
}
