/**
 * The state of a message's turns (issue #10): accepted, streaming…, running tool, done,
 * stopped by <name>, failed: <reason>, interrupted and resumed. With several agents (issue #15)
 * one chip per answering agent, named and coloured (a hand-off's turns show on the agent reply
 * they answer). The session page provides the derived turns (TurnsContext) and agents
 * (AgentsContext); a message without a turn record shows nothing.
 */
import { createContext, useContext } from 'react'
import { turnsOf, type TurnView, type TurnViews } from '../../lib/sessions/client/turns'
import { AgentDot, AgentsContext } from './AgentName'

export const TurnsContext = createContext<TurnViews | null>(null)

const TONE: Record<string, string> = {
  accepted: 'badge',
  streaming: 'badge badge-accent',
  tool: 'badge badge-info',
  done: 'badge',
  cancelled: 'badge badge-warn',
  failed: 'badge badge-danger',
  interrupted: 'badge badge-warn',
}

function Chip({ turn, agent }: { turn: TurnView; agent?: { name: string; colour: number } }) {
  return (
    <span
      className={TONE[turn.status] ?? 'badge'}
      data-testid="turn-status"
      data-turn-status={turn.status}
      data-turn-interruptions={turn.interruptions}
      data-agent-id={turn.agentId}
      title={turn.reason ?? `turn ${turn.turn}${turn.from ? ` · handed off by @${turn.from}` : ''}`}
    >
      {agent ? <AgentDot colour={agent.colour} /> : null}
      {agent ? `${agent.name}: ${turn.label}` : turn.label}
    </span>
  )
}

export function TurnStatus({ messageId }: { messageId: string }) {
  const turns = useContext(TurnsContext)
  const agents = useContext(AgentsContext)
  const single = turns?.byMessage.get(messageId)
  if (!turns || !single) return null
  if (!agents?.logged) return <Chip turn={single} />
  const list = turnsOf(turns, messageId)
  return (
    <>
      {list.map((turn) => (
        <Chip key={turn.agentId} turn={turn} agent={{ name: agents.nameOf(turn.agentId), colour: agents.colourOf(turn.agentId) }} />
      ))}
    </>
  )
}
