/**
 * Which agent wrote a message (issue #15): its name in its own colour, the palette index the
 * agent panel uses (AgentsContext: the session page's derived agents). Without the context (or
 * in a single-agent session) it shows the name it is given, as before.
 */
import { createContext, useContext } from 'react'
import { AGENT_PALETTE_SIZE, type AgentsView } from '../../lib/sessions/client/agents'

/**
 * Names and colours only (not usage): its value changes when the roster does, not on every
 * heartbeat, so the memoised message views it reaches re-render only then.
 */
export type AgentNames = Pick<AgentsView, 'logged' | 'colourOf' | 'nameOf'>
export const AgentsContext = createContext<AgentNames | null>(null)

/** The class that sets `--agent-colour` to the agent's palette entry (styles.css). */
export const agentColourClass = (index: number): string => `agent-c${index % AGENT_PALETTE_SIZE}`

/** The colour class of an agent's avatar; none in a single-agent session (its avatar stays as it was). */
export function useAgentColourClass(agentId: string): string {
  const agents = useContext(AgentsContext)
  return agents?.logged ? agentColourClass(agents.colourOf(agentId)) : ''
}

/** A small coloured dot for an agent (cards, chips, the @ menu). */
export function AgentDot({ colour }: { colour: number }) {
  return <span className={`agent-dot ${agentColourClass(colour)}`} aria-hidden="true" />
}

/** The author line of an agent's message: "● Name" in the agent's colour. */
export function AgentName({ agentId, fallback }: { agentId: string; fallback: string }) {
  const agents = useContext(AgentsContext)
  if (!agents?.logged) return <span className="msg-author">{fallback}</span>
  const colour = agents.colourOf(agentId)
  return (
    <span
      className={`msg-author agent-name ${agentColourClass(colour)}`}
      data-testid="agent-name"
      data-agent-id={agentId}
      title={`@${agentId}`}
    >
      <AgentDot colour={colour} />
      {agents.nameOf(agentId)}
    </span>
  )
}
