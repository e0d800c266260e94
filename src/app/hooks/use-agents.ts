import { useMemo } from 'react'
import { useCollectionRows } from './use-collection-rows'
import type { AgentStateEntry } from '../../lib/sessions/channel-schemas'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import { deriveAgents, type AgentsView } from '../../lib/sessions/client/agents'
import type { SessionRecord } from '../../lib/sessions/session-types'

/**
 * The session's agents as the page shows them (issue #15): the stream's roster entry and each
 * agent's state entry (live), with limits from the session record.
 */
export function useAgents(connection: SessionConnection | undefined, session: SessionRecord | undefined): AgentsView {
  const data = useCollectionRows<AgentStateEntry>(connection, 'agentState')
  const configs = session?.agents
  return useMemo(() => deriveAgents(data as AgentStateEntry[], configs ?? []), [data, configs])
}
