/**
 * Turns you can see (issue #10), the UI's derivation: agent-state turn records (`kind: 'turn'`,
 * one per user message) → what each user message shows about its turn, and which turn is
 * current (what "Stop" cancels). Pure: rows in, views out.
 */
import {
  FINAL_TURN_STATUSES,
  type AgentControl,
  type AgentStateEntry,
  type AgentTurn,
  type TurnStatus,
} from '../channel-schemas'

export interface TurnView {
  messageId: string
  turn: number
  status: TurnStatus
  /** What the message shows, e.g. "streaming…", "stopped by Ada", "failed: model error". */
  label: string
  reason?: string
  /** Who asked for the stop that cancelled it (user id, agent id or 'system'). */
  stoppedBy?: string
  /** The worker died during this turn this many times and a new one resumed it. */
  interruptions: number
  ended: boolean
}

export interface TurnViews {
  byMessage: Map<string, TurnView>
  /** The newest turn that has not ended (accepted, streaming, tool or interrupted), if any. */
  current: TurnView | null
}

const LABELS: Record<TurnStatus, string> = {
  accepted: 'accepted',
  streaming: 'streaming…',
  tool: 'running tool',
  done: 'done',
  cancelled: 'stopped',
  failed: 'failed',
  interrupted: 'interrupted, resuming…',
}

function label(turn: AgentTurn, stoppedBy: string | undefined, nameOf: (id: string) => string): string {
  let text = LABELS[turn.status]
  if (turn.status === 'cancelled' && stoppedBy) text = `stopped by ${stoppedBy === 'system' ? 'the session' : nameOf(stoppedBy)}`
  if (turn.status === 'failed' && turn.reason) text = `failed: ${turn.reason}`
  if (turn.status !== 'interrupted' && (turn.interruptions ?? 0) > 0) text = `interrupted, resumed · ${text}`
  return text
}

export function deriveTurns(entries: readonly AgentStateEntry[], nameOf: (id: string) => string = (id) => id): TurnViews {
  const controls = new Map<string, AgentControl>()
  const turns: AgentTurn[] = []
  for (const entry of entries) {
    if (entry.kind === 'turn') turns.push(entry)
    else if (entry.kind === 'control') controls.set(entry.id, entry)
  }
  const byMessage = new Map<string, TurnView>()
  let current: TurnView | null = null
  for (const turn of turns) {
    const stoppedBy = turn.stopRequest ? controls.get(turn.stopRequest)?.requestedBy : undefined
    const view: TurnView = {
      messageId: turn.messageId,
      turn: turn.turn,
      status: turn.status,
      label: label(turn, stoppedBy, nameOf),
      ...(turn.reason ? { reason: turn.reason } : {}),
      ...(stoppedBy ? { stoppedBy } : {}),
      interruptions: turn.interruptions ?? 0,
      ended: FINAL_TURN_STATUSES.includes(turn.status),
    }
    byMessage.set(turn.messageId, view)
    if (!view.ended && (!current || view.turn > current.turn)) current = view
  }
  return { byMessage, current }
}
