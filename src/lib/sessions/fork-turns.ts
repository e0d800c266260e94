/**
 * Which events of a session stream belong to which turn, for "fork at the end of turn N". Pure.
 *
 * Turn k (1-based, as the worker numbers them) answers the k-th completed user message. Its
 * events: that message's chunks, the agent's step chunks (`<agent>:t<k>:s<step>`, chunk field
 * `turn` = k), the tool calls of those steps, and its `kind:'turn'` agent-state record
 * (`turn:<messageId>`). The turn has ended when its record says done / cancelled / failed; on
 * streams without turn records, when the agent wrote a finished chunk for it and no tool call of
 * it is still pending or running. The agent's `kind:'state'` updates that follow at once (its
 * usage and turn count after the turn) go with the turn.
 */
const FINAL_TURN = new Set(['done', 'cancelled', 'failed'])
const OPEN_TOOL = new Set(['pending', 'running'])
const STEP_ID = /:t(\d+):s\d+$/

interface RawEvent {
  type?: unknown
  value?: unknown
}

function rec(v: unknown): Record<string, unknown> | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null
}

export interface TurnEnd {
  turn: number
  /** The user message that opened the turn. */
  messageId: string
  /** Number of stream messages up to and including the turn's last event. */
  count: number
}

export class TurnNotFoundError extends Error {
  constructor(
    message: string,
    readonly field: 'turn' | 'messageId',
  ) {
    super(message)
  }
}

/** The end of the turn named by number or by its user message; throws TurnNotFoundError with a reason. */
export function findTurnEnd(events: readonly unknown[], target: { turn?: number; messageId?: string }): TurnEnd {
  const userMessages: string[] = []
  const turnOfUserMessage = new Map<string, number>()
  // Per turn: last event index, whether a turn record ended it, saw an agent done chunk, open tools.
  const last = new Map<number, number>()
  const recordStatus = new Map<number, string>()
  const agentDone = new Set<number>()
  const toolStatus = new Map<number, Map<string, string>>()
  const toolTurn = new Map<string, number>()

  const touch = (turn: number, i: number) => last.set(turn, i)

  events.forEach((raw, i) => {
    const e = rec(raw) as RawEvent | null
    const v = rec(e?.value)
    if (!e || !v) return
    if (e.type === 'chunk') {
      const messageId = typeof v.messageId === 'string' ? v.messageId : ''
      if (v.role === 'user') {
        const known = turnOfUserMessage.get(messageId)
        if (known !== undefined) touch(known, i)
        else if (v.done === true) {
          userMessages.push(messageId)
          turnOfUserMessage.set(messageId, userMessages.length)
          touch(userMessages.length, i)
        }
        return
      }
      const step = STEP_ID.exec(messageId)
      const turn = step ? Number(step[1]) : typeof v.turn === 'number' ? v.turn : null
      if (turn === null) return
      touch(turn, i)
      if (v.done === true) agentDone.add(turn)
    } else if (e.type === 'tool-call') {
      const id = typeof v.id === 'string' ? v.id : ''
      const step = STEP_ID.exec(typeof v.messageId === 'string' ? v.messageId : '')
      const turn = step ? Number(step[1]) : toolTurn.get(id)
      if (turn === undefined) return
      toolTurn.set(id, turn)
      touch(turn, i)
      let m = toolStatus.get(turn)
      if (!m) toolStatus.set(turn, (m = new Map()))
      m.set(id, String(v.status))
    } else if (e.type === 'agent-state' && v.kind === 'turn') {
      const byMessage = typeof v.messageId === 'string' ? turnOfUserMessage.get(v.messageId) : undefined
      const turn = byMessage ?? (typeof v.turn === 'number' ? v.turn : undefined)
      if (turn === undefined) return
      touch(turn, i)
      recordStatus.set(turn, String(v.status))
    }
  })

  let turn: number
  if (target.messageId !== undefined) {
    const t = turnOfUserMessage.get(target.messageId)
    if (t === undefined) throw new TurnNotFoundError(`no user message ${target.messageId} in this session`, 'messageId')
    if (target.turn !== undefined && target.turn !== t) {
      throw new TurnNotFoundError(`message ${target.messageId} opened turn ${t}, not turn ${target.turn}`, 'turn')
    }
    turn = t
  } else if (target.turn !== undefined) {
    turn = target.turn
    if (turn < 1 || turn > userMessages.length) {
      throw new TurnNotFoundError(`turn ${turn} does not exist: the session has ${userMessages.length} turn(s), numbered from 1`, 'turn')
    }
  } else {
    throw new TurnNotFoundError('give the turn to fork at: turn (number, from 1) or messageId', 'turn')
  }

  const status = recordStatus.get(turn)
  const tools = [...(toolStatus.get(turn)?.values() ?? [])]
  const ended = status !== undefined ? FINAL_TURN.has(status) : agentDone.has(turn) && !tools.some((s) => OPEN_TOOL.has(s))
  if (!ended) throw new TurnNotFoundError(`turn ${turn} has not finished: fork at a finished turn`, 'turn')
  // The agent's state updates right after the turn (idle, turns and tokens counted) belong with
  // it: a fork's usage then starts from them. Stops at the first event of anything else.
  let end = last.get(turn)!
  while (end + 1 < events.length && isAgentState(events[end + 1])) end++
  return { turn, messageId: userMessages[turn - 1]!, count: end + 1 }
}

function isAgentState(raw: unknown): boolean {
  const e = rec(raw)
  const v = rec(e?.value)
  return e?.type === 'agent-state' && v?.kind === 'state'
}
