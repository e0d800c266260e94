/**
 * Turns you can see (issue #10), the UI's derivation: agent-state turn records (`kind: 'turn'`,
 * one per answering agent of a message: `turn:<messageId>` and, with several agents (issue #15),
 * `turn:<messageId>@<agentId>`) → what each message shows about its turns, and which turn is
 * current (what "Stop" cancels), overall and per agent. Pure: rows in, views out.
 */
import { DEFAULT_AGENT_ID } from '../../common/agent-roster'
import { FINAL_TURN_STATUSES, type TurnStatus } from '../channel-constants'
import type { AgentControl, AgentStateEntry, AgentTurn } from '../channel-schemas'

export interface TurnView {
  messageId: string
  /** the agent answering (records without one are the default agent's: `agent`) */
  agentId: string
  /** agent-to-agent turns in a row that led here (0: a person's message); `from` handed off */
  depth: number
  from?: string
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
  /** A message's first turn record (the default agent's when it answers): issue #10's one turn. */
  byMessage: Map<string, TurnView>
  /**
   * Messages answered by more than one agent: each agent's turn, in the order their records
   * arrived (issue #15). A message with one turn has only its byMessage entry (see turnsOf).
   */
  allByMessage: Map<string, TurnView[]>
  /** The newest turn that has not ended (accepted, streaming, tool or interrupted), if any. */
  current: TurnView | null
  /** Per agent: its newest turn that has not ended (what "Stop <agent>" cancels). */
  currentByAgent: Map<string, TurnView>
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
  const allByMessage = new Map<string, TurnView[]>()
  /** turns not ended when their record was read, with when they were accepted */
  const open: Array<{ view: TurnView; acceptedAt: number }> = []
  for (const turn of turns) {
    const stoppedBy = turn.stopRequest ? controls.get(turn.stopRequest)?.requestedBy : undefined
    const agentId = turn.agentId ?? DEFAULT_AGENT_ID
    const view: TurnView = {
      messageId: turn.messageId,
      agentId,
      depth: turn.depth ?? 0,
      ...(turn.from ? { from: turn.from } : {}),
      turn: turn.turn,
      status: turn.status,
      label: label(turn, stoppedBy, nameOf),
      ...(turn.reason ? { reason: turn.reason } : {}),
      ...(stoppedBy ? { stoppedBy } : {}),
      interruptions: turn.interruptions ?? 0,
      ended: FINAL_TURN_STATUSES.includes(turn.status),
    }
    // Records are upserted: a later one for the same turn id replaces the earlier in place.
    // A list only once a second agent answers the message: most messages have one turn.
    const first = byMessage.get(turn.messageId)
    const list = allByMessage.get(turn.messageId)
    if (list) {
      const at = list.findIndex((v) => v.agentId === agentId)
      if (at >= 0) list[at] = view
      else list.push(view)
    } else if (first && first.agentId !== agentId) allByMessage.set(turn.messageId, [first, view])
    if (!first || first.agentId === agentId || (agentId === DEFAULT_AGENT_ID && first.agentId !== DEFAULT_AGENT_ID))
      byMessage.set(turn.messageId, view)
    if (!view.ended) open.push({ view, acceptedAt: turn.acceptedAt })
  }
  // Current: the newest unfinished turn by when it was accepted (turn numbers count per agent).
  type Open = (typeof open)[number]
  const newer = (a: Open, b: Open | undefined) =>
    !b || a.acceptedAt > b.acceptedAt || (a.acceptedAt === b.acceptedAt && a.view.turn > b.view.turn)
  let newest: Open | undefined
  const newestOf = new Map<string, Open>()
  for (const o of open) {
    // Skip a record a later one for the same turn replaced.
    const list = allByMessage.get(o.view.messageId)
    if (list ? !list.includes(o.view) : byMessage.get(o.view.messageId) !== o.view) continue
    if (newer(o, newest)) newest = o
    if (newer(o, newestOf.get(o.view.agentId))) newestOf.set(o.view.agentId, o)
  }
  const current = newest?.view ?? null
  const currentByAgent = new Map([...newestOf].map(([id, o]) => [id, o.view]))
  return { byMessage, allByMessage, current, currentByAgent }
}

/** Every turn answering `messageId` (one per answering agent), in the order their records arrived. */
export function turnsOf(views: Pick<TurnViews, 'byMessage' | 'allByMessage'>, messageId: string): TurnView[] {
  const list = views.allByMessage.get(messageId)
  if (list) return list
  const one = views.byMessage.get(messageId)
  return one ? [one] : []
}
