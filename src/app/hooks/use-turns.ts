import { useMemo } from 'react'
import { useLiveQuery } from '@tanstack/react-db'
import type { AgentStateEntry } from '../../lib/sessions/channel-schemas'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import { deriveTurns, type TurnViews } from '../../lib/sessions/client/turns'

/** Each user message's turn (from the agent-state turn records) and the current one. */
export function useTurns(connection: SessionConnection | undefined, authorOf: (id: string) => { name: string }): TurnViews {
  const { data } = useLiveQuery({ query: (q) => (connection ? q.from({ s: connection.db.collections.agentState }) : null) })
  return useMemo(() => deriveTurns((data ?? []) as AgentStateEntry[], (id) => authorOf(id).name), [data, authorOf])
}
