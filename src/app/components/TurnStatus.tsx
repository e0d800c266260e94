/**
 * The state of a user message's turn (issue #10): accepted, streaming…, running tool, done,
 * stopped by <name>, failed: <reason>, interrupted and resumed. The session page provides the
 * derived turns (TurnsContext); a message without a turn record shows nothing.
 */
import { createContext, useContext } from 'react'
import type { TurnViews } from '../../lib/sessions/client/turns'

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

export function TurnStatus({ messageId }: { messageId: string }) {
  const turn = useContext(TurnsContext)?.byMessage.get(messageId)
  if (!turn) return null
  return (
    <span
      className={TONE[turn.status] ?? 'badge'}
      data-testid="turn-status"
      data-turn-status={turn.status}
      data-turn-interruptions={turn.interruptions}
      title={turn.reason ?? `turn ${turn.turn}`}
    >
      {turn.label}
    </span>
  )
}
