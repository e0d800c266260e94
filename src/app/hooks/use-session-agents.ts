import { useCallback, useMemo, useState } from 'react'
import { removeAgent } from '../../lib/sessions/client/agent-api'
import type { AgentsView } from '../../lib/sessions/client/agents'
import type { TurnView, TurnViews } from '../../lib/sessions/client/turns'
import type { AgentCardActions } from '../components/AgentCards'
import type { AgentNames } from '../components/AgentName'
import type { SessionPageState } from './use-session-page'
import { useAccount } from './use-account'
import { useAgents } from './use-agents'

export interface SessionAgentsState {
  agents: AgentsView
  /** names and colours for messages and turn chips (AgentsContext), stable between roster changes */
  names: AgentNames
  /** admin or the session's owner, on a live session: may add and remove agents */
  canManage: boolean
  cardActions: AgentCardActions
  /** cancel a turn: with several agents, the control names the turn's agent (specs/agents.md) */
  stop(turn: TurnView): void
  /** the roster for `@` completion (undefined in a single-agent session: nothing to complete) */
  mentionable?: Array<{ id: string; name: string; colour: number }>
  /** who the header's Stop stops: ` <agent name>` with several agents, else '' */
  stopLabel: string
  adding: boolean
  setAdding(open: boolean): void
}

/**
 * The session page's several agents (issue #15): the derived view, who may change the list, the
 * per-agent Stop and Remove actions and the "Add agent" dialog's open state.
 */
export function useSessionAgents(
  sessionId: string,
  page: Pick<SessionPageState, 'connection' | 'session' | 'actions' | 'auth' | 'refreshSession'>,
  turns: TurnViews,
): SessionAgentsState {
  const { connection, session, actions, auth, refreshSession } = page
  const agents = useAgents(connection, session)
  const [adding, setAdding] = useState(false)
  // The server decides (agents-api.ts requireOwnerOrAdmin); this only hides what would be refused.
  // A signed-in person (cookie, no token on the page) is the owner or an admin by their account.
  const account = useAccount()
  const owner = session?.createdBy
  const canManage =
    !!actions &&
    !!session &&
    (auth.info?.role === 'admin' ||
      account.user?.admin === true ||
      (!!owner && (auth.info?.sub === owner || account.user?.id === owner)))
  const stop = useCallback(
    (turn: TurnView) =>
      actions?.requestStop(agents.logged ? { messageId: turn.messageId, agentId: turn.agentId } : { messageId: turn.messageId }),
    [actions, agents.logged],
  )
  const token = auth.token
  const cardActions = useMemo<AgentCardActions>(
    () => ({
      running: new Set(turns.currentByAgent.keys()),
      ...(actions
        ? {
            stop: (agentId: string) => {
              const turn = turns.currentByAgent.get(agentId)
              if (turn) stop(turn)
            },
          }
        : {}),
      ...(canManage
        ? {
            remove: async (agentId: string) => {
              await removeAgent(token, sessionId, agentId)
              refreshSession()
            },
          }
        : {}),
    }),
    [turns.currentByAgent, actions, stop, canManage, token, sessionId, refreshSession],
  )
  const mentionable = useMemo(
    () => (agents.logged ? agents.cards.filter((c) => c.onRoster).map((c) => ({ id: c.id, name: c.name, colour: c.colour })) : undefined),
    [agents],
  )
  const rosterKey = `${agents.logged}|${agents.cards.map((c) => `${c.id}:${c.name}:${c.colour}`).join(',')}`
  // biome-ignore lint/correctness/useExhaustiveDependencies: rosterKey is the trigger: names and colours change only with it
  const names = useMemo<AgentNames>(() => ({ logged: agents.logged, colourOf: agents.colourOf, nameOf: agents.nameOf }), [rosterKey])
  const stopLabel = agents.logged && turns.current ? ` ${agents.nameOf(turns.current.agentId)}` : ''
  return { agents, names, canManage, cardActions, stop, mentionable, stopLabel, adding, setAdding }
}
