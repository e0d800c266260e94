/**
 * The worker's model of its session, rebuilt by replaying the stream (pure: events in, state out).
 * After a restart the worker replays the whole stream through this and finds where it stopped:
 * which user messages already have a finished turn, how far the current turn got (text per step,
 * tool calls and their status), which terminal input lines it already answered, whether a stop or
 * cancel is pending, and the cumulative usage from its own last agent-state.
 *
 * Turn k (1-based) is the k-th turn addressed to this agent, in stream order (issue #15,
 * specs/agents.md): a completed person's message addressed to it (by `addressees` with the roster
 * as of that message; a session without a roster entry is this agent's alone, so every message
 * is one of its turns, as before), or a hand-off: another agent's final `done` turn record whose
 * `handoffs` name this agent, answering that agent's reply (its turn's last step message).
 * A turn is made of steps; step s is one assistant message `<agentId>:t<k>:s<s>` whose chunks
 * stream the text, followed by the tool-call records the model asked for in that step, followed
 * by the step's `done` chunk. A turn has ended when one of its steps is done and asked for no tool call.
 */
import { addressees, singleAgentRoster, turnIdFor, type Roster } from '../lib/common/agent-roster'
import type { AgentRoster, AgentTurn } from '../lib/sessions/channel-schemas'
import type { AgentControl, AgentState, Chunk, StreamEvent, TerminalLine, ToolCall } from './events'
import { HandoffReplies } from './handoff-replies'
import { SessionContext } from './session-context'

export interface UserMessage {
  messageId: string
  author: string
  parts: Map<number, string>
  done: boolean
}

export interface StepRecord {
  messageId: string
  step: number
  /** Text chunks by seq. */
  parts: Map<number, string>
  done: boolean
  /** Tool-call ids recorded for this step, in order. */
  toolCallIds: string[]
}

/** What a turn answers: a person's message (depth 0) or another agent's reply (a hand-off). */
export interface TurnTrigger {
  messageId: string
  /** Agent-to-agent turns in a row that led here (0: a person's message). */
  depth: number
  /** A hand-off: the agent whose reply addressed this one. */
  from?: string
}

export interface TurnRecord {
  turn: number
  /** The trigger's message id (a person's message, or the handing agent's reply). */
  userMessageId: string
  steps: Map<number, StepRecord>
  ended: boolean
  cancelRequested: boolean
  /** The cancel control that asked (its id goes into the turn record's `stopRequest`). */
  cancelControl?: AgentControl
}

export interface TerminalInput {
  id: string
  data: string
  source: string
  /** keys as typed (see Terminal.input) */
  raw?: boolean
}

export type ViewNotice =
  | { kind: 'user-message'; turn: number }
  | { kind: 'handoff'; turn: number; from: string }
  | { kind: 'roster'; roster: Roster }
  | { kind: 'cancel'; turn: number | null; toolCallId?: string; control: AgentControl }
  | { kind: 'stop'; control: AgentControl }
  | { kind: 'terminal-input'; line: TerminalInput }
  | { kind: 'terminal-resize'; cols: number; rows: number }

export const stepMessageId = (agentId: string, turn: number, step: number): string => `${agentId}:t${turn}:s${step}`
export const toolCallId = (messageId: string, index: number): string => `${messageId}:c${index}`
const STEP_ID = /^(.*):t(\d+):s(\d+)$/
/** Output line ids are `<commandId>:o<n>` (src/worker/terminal.ts). */
const OUTPUT_INDEX = /:o(\d+)$/

export function joinParts(parts: Map<number, string>): string {
  return [...parts.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, text]) => text)
    .join('')
}

/** A folded chunk (stream compaction) holds the message's whole text: it replaces the parts before it. */
function setPart(parts: Map<number, string>, chunk: Chunk): void {
  if (chunk.folded !== undefined) parts.clear()
  parts.set(chunk.seq, chunk.delta)
}

export function nextSeq(parts: Map<number, string>): number {
  let max = -1
  for (const seq of parts.keys()) max = Math.max(max, seq)
  return max + 1
}

export class SessionView {
  readonly userMessages = new Map<string, UserMessage>()
  /** Completed user message ids in completion order (all of them, whoever they address). */
  readonly completedUserMessages: string[] = []
  /** This agent's turns: index + 1 is the turn number. */
  readonly triggers: TurnTrigger[] = []
  private readonly triggerIds = new Set<string>()
  /** What others said (session-context.ts), and how much of it there was at each trigger. */
  readonly context = new SessionContext()
  private readonly contextAt: number[] = []
  /** The latest roster entry (null: none yet, the session is this agent's alone). */
  roster: Roster | null = null
  /** Other agents' replies, for the hand-offs that answer them (one store a worker's views can share). */
  readonly replies: HandoffReplies
  /** Whether this view feeds `replies` (false: a shared store its owner feeds once per event). */
  private readonly feedsReplies: boolean
  readonly turns = new Map<number, TurnRecord>()
  readonly toolCalls = new Map<string, ToolCall>()
  readonly terminalInputs: TerminalInput[] = []
  /** commandId → number of output lines this agent published for it. */
  readonly terminalOutputs = new Map<string, number>()
  terminalSize: { cols: number; rows: number } | null = null
  /** The last stop request this agent has not answered with a 'stopped' state (informational: a new run ignores stops from before it). */
  stopRequest: AgentControl | null = null
  readonly seenControls = new Set<string>()
  /** The latest record of each of this agent's turns, by trigger message id (the server's `accepted`, then what workers wrote). */
  readonly turnStates = new Map<string, AgentTurn>()
  /** This agent's last published state. */
  ownState: AgentState | null = null
  /** Largest timestamp on any event this agent wrote (producer epochs must exceed it). */
  maxOwnTimestamp = 0

  constructor(
    readonly agentId: string,
    shared?: { replies: HandoffReplies },
  ) {
    this.replies = shared?.replies ?? new HandoffReplies()
    this.feedsReplies = shared === undefined
  }

  /** Applies one event; returns what the live worker must react to. */
  apply(event: StreamEvent): ViewNotice[] {
    const value = event.value as Record<string, unknown> | undefined
    if (!value || event.headers.operation === 'delete') return []
    if (typeof value.timestamp === 'number' && this.isOwn(event.type, value)) {
      this.maxOwnTimestamp = Math.max(this.maxOwnTimestamp, value.timestamp)
    }
    switch (event.type) {
      case 'chunk':
        return this.applyChunk(value as unknown as Chunk)
      case 'tool-call':
        return this.applyToolCall(value as unknown as ToolCall)
      case 'terminal':
        return this.applyTerminal(value as unknown as TerminalLine)
      case 'agent-state':
        if (value.kind === 'turn') return this.applyTurnRecord(value as unknown as AgentTurn)
        if (value.kind === 'roster') return this.applyRoster(value as unknown as AgentRoster)
        return value.kind === 'control'
          ? this.applyControl(value as unknown as AgentControl)
          : this.applyState(value as unknown as AgentState)
      default:
        return []
    }
  }

  private isOwn(type: string, value: Record<string, unknown>): boolean {
    switch (type) {
      case 'chunk':
        return value.author === this.agentId
      case 'tool-call':
        return value.agentId === this.agentId
      case 'terminal':
        return value.source === this.agentId
      case 'agent-state':
        return value.kind !== 'control' && value.agentId === this.agentId
      default:
        return false
    }
  }

  private applyChunk(chunk: Chunk): ViewNotice[] {
    if (chunk.role === 'user') {
      let message = this.userMessages.get(chunk.messageId)
      if (!message) {
        message = { messageId: chunk.messageId, author: chunk.author, parts: new Map(), done: false }
        this.userMessages.set(chunk.messageId, message)
      }
      if (message.done) return []
      setPart(message.parts, chunk)
      if (!chunk.done) return []
      message.done = true
      this.completedUserMessages.push(chunk.messageId)
      if (addressees(joinParts(message.parts), this.currentRoster()).includes(this.agentId)) {
        return [{ kind: 'user-message', turn: this.addTrigger({ messageId: chunk.messageId, depth: 0 }) }]
      }
      this.context.add({ who: message.author, messageId: chunk.messageId, agent: false })
      return []
    }
    if (chunk.author !== this.agentId) {
      if (this.feedsReplies) this.replies.apply(chunk)
      return []
    }
    const match = STEP_ID.exec(chunk.messageId)
    if (!match || match[1] !== this.agentId) return []
    const step = this.step(Number(match[2]), Number(match[3]))
    if (!step) return []
    setPart(step.parts, chunk)
    if (chunk.done) {
      step.done = true
      if (step.toolCallIds.length === 0) this.turns.get(Number(match[2]))!.ended = true
    }
    return []
  }

  /** The roster routing uses now: the latest entry, else this agent alone (a single-agent session). */
  currentRoster(): Roster {
    return this.roster ?? singleAgentRoster(this.agentId)
  }

  private addTrigger(trigger: TurnTrigger): number {
    this.triggers.push(trigger)
    this.triggerIds.add(trigger.messageId)
    this.contextAt.push(this.context.size)
    return this.triggers.length
  }

  private applyRoster({ agents, defaultAgent, unaddressed, maxAgentTurnsInARow }: AgentRoster): ViewNotice[] {
    const roster: Roster = { agents: agents.map((a) => ({ id: a.id, name: a.name })), defaultAgent, unaddressed, maxAgentTurnsInARow }
    this.roster = roster
    return [{ kind: 'roster', roster }]
  }

  /**
   * Turn records: this agent's own (by id) are kept; another agent's final `done` record that
   * hands off to this one starts a turn answering that agent's reply (any other is context).
   */
  private applyTurnRecord(record: AgentTurn): ViewNotice[] {
    if (record.id === turnIdFor(record.messageId, this.agentId)) {
      this.turnStates.set(record.messageId, record)
      return []
    }
    const from = record.agentId
    if (!from || from === this.agentId || record.status !== 'done') return []
    const messageId = this.replies.replyOf(from, record.turn)
    if (!record.handoffs?.includes(this.agentId)) {
      this.context.add({ who: from, messageId, agent: true })
      return []
    }
    if (this.triggerIds.has(messageId)) return []
    const turn = this.addTrigger({ messageId, depth: (record.depth ?? 0) + 1, from })
    return [{ kind: 'handoff', turn, from }]
  }

  /** The trigger of `turn` (undefined for a turn not asked for), and the message it answers. */
  trigger = (turn: number): TurnTrigger | undefined => this.triggers[turn - 1]
  messageIdOf = (turn: number): string | undefined => this.triggers[turn - 1]?.messageId

  /** The record of step `s` of turn `k`, created on first sight (null for an unknown turn). */
  step(turn: number, s: number): StepRecord | null {
    const userMessageId = this.messageIdOf(turn)
    if (userMessageId === undefined) return null
    let record = this.turns.get(turn)
    if (!record) {
      record = { turn, userMessageId, steps: new Map(), ended: false, cancelRequested: false }
      this.turns.set(turn, record)
    }
    let step = record.steps.get(s)
    if (!step) {
      step = { messageId: stepMessageId(this.agentId, turn, s), step: s, parts: new Map(), done: false, toolCallIds: [] }
      record.steps.set(s, step)
    }
    return step
  }

  private applyToolCall(call: ToolCall): ViewNotice[] {
    const known = this.toolCalls.has(call.id)
    this.toolCalls.set(call.id, call)
    if (known || call.agentId !== this.agentId) return []
    const match = STEP_ID.exec(call.messageId)
    if (!match) return []
    this.step(Number(match[2]), Number(match[3]))?.toolCallIds.push(call.id)
    return []
  }

  private applyTerminal(line: TerminalLine): ViewNotice[] {
    if (line.kind === 'input' && line.source !== this.agentId) {
      const input = { id: line.id, data: line.data ?? '', source: line.source, raw: line.raw === true }
      this.terminalInputs.push(input)
      return [{ kind: 'terminal-input', line: input }]
    }
    if (line.kind === 'resize' && line.cols && line.rows) {
      this.terminalSize = { cols: line.cols, rows: line.rows }
      return [{ kind: 'terminal-resize', cols: line.cols, rows: line.rows }]
    }
    if ((line.kind === 'output' || line.kind === 'exit') && line.source === this.agentId && line.commandId) {
      // Next output index = highest seen + 1, not a count: compaction drops old output lines
      // (scroll-back budget), and a count would hand out the id of a line that is still kept.
      const n = OUTPUT_INDEX.exec(line.id)
      const next = n ? Number(n[1]) + 1 : (this.terminalOutputs.get(line.commandId) ?? 0) + 1
      this.terminalOutputs.set(line.commandId, Math.max(next, this.terminalOutputs.get(line.commandId) ?? 0))
    }
    return []
  }

  private applyControl(control: AgentControl): ViewNotice[] {
    if (control.agentId !== undefined && control.agentId !== this.agentId) return []
    if (this.seenControls.has(control.id)) return []
    this.seenControls.add(control.id)
    if (control.action === 'stop') {
      this.stopRequest ??= control
      return [{ kind: 'stop', control }]
    }
    // A cancel aborts the turn it names (by number or user message), else the earliest turn that
    // has been asked for and has not ended yet; null when that turn has ended (or never existed).
    const turn = this.cancelTarget(control)
    if (turn !== null && !control.toolCallId) {
      const record = this.turnRecord(turn)
      record.cancelRequested = true
      record.cancelControl ??= control
    }
    return [{ kind: 'cancel', turn, control, ...(control.toolCallId ? { toolCallId: control.toolCallId } : {}) }]
  }

  private cancelTarget(control: AgentControl): number | null {
    let turn: number | null = control.turn ?? null
    if (turn === null && control.messageId !== undefined) {
      const index = this.triggers.findIndex((t) => t.messageId === control.messageId)
      if (index < 0) return null
      turn = index + 1
    }
    if (turn === null) return this.currentTurn()
    if (turn < 1 || turn > this.triggers.length || this.turns.get(turn)?.ended) return null
    return turn
  }

  private applyState(state: AgentState): ViewNotice[] {
    if (state.agentId !== this.agentId) return []
    this.ownState = state
    // A stop this agent answered (it wrote 'stopped' after it) no longer applies: a worker started
    // later (a hybrid session resumed) must not stop again on it.
    if (state.status === 'stopped') this.stopRequest = null
    return []
  }

  turnRecord(turn: number): TurnRecord {
    let record = this.turns.get(turn)
    if (!record) {
      record = { turn, userMessageId: this.messageIdOf(turn)!, steps: new Map(), ended: false, cancelRequested: false }
      this.turns.set(turn, record)
    }
    return record
  }

  /** The earliest asked-for turn that has not ended, or null when all are answered. */
  currentTurn(): number | null {
    for (let turn = 1; turn <= this.triggers.length; turn++) {
      if (!this.turns.get(turn)?.ended) return turn
    }
    return null
  }

  /** The text `turn` answers: the person's message, or (a hand-off) the other agent's reply. */
  userText(turn: number): string {
    const trigger = this.triggers[turn - 1]
    if (!trigger) return ''
    if (trigger.from !== undefined) return this.replies.text(trigger.messageId)
    const message = this.userMessages.get(trigger.messageId)
    return message ? joinParts(message.parts) : ''
  }

  /** What others said between this agent's previous turn and `turn` ('' for none). */
  contextBefore(turn: number): string {
    const to = this.contextAt[turn - 1]
    if (to === undefined) return ''
    return this.context.text(this.contextAt[turn - 2] ?? 0, to, (e) =>
      e.agent ? this.replies.text(e.messageId) : joinParts(this.userMessages.get(e.messageId)?.parts ?? new Map()),
    )
  }

  /** This agent's reply in `turn`: its last step's text (what hand-offs are read from). */
  replyText(turn: number): string {
    const steps = [...(this.turns.get(turn)?.steps.values() ?? [])].sort((a, b) => a.step - b.step)
    const last = steps.at(-1)
    return last ? joinParts(last.parts) : ''
  }

  /** Completed turns (cumulative, for agent-state). */
  endedTurns(): number {
    let n = 0
    for (const record of this.turns.values()) if (record.ended) n++
    return n
  }

  /** Terminal input lines this agent has not answered yet, in stream order. */
  unansweredTerminalInputs(): TerminalInput[] {
    return this.terminalInputs.filter((line) => !this.terminalOutputs.has(line.id))
  }
}
