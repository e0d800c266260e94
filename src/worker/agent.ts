/**
 * The agent loop: one turn per completed user message, run strictly in order. A turn calls the
 * model step by step: each step streams text (batched chunks), records the tool calls the model
 * asked for (pending), ends its message, runs the tools (running → succeeded/failed) and feeds
 * the results to the next step, until a step asks for no tool. Cancel aborts the model call or
 * the running tool and closes the turn; stop does the same and then the worker exits.
 *
 * A turn interrupted by a crash is resumed from what the stream holds (SessionView): finished
 * steps and tool results are reused, a half-streamed step continues after its text (prefill),
 * unfinished tool calls run again, so the stream ends up as if nothing had happened.
 */
import type { AgentStateTracker } from './agent-state'
import { ChunkWriter } from './chunk-writer'
import type { ToolCall } from './events'
import { log } from './log'
import type { ContentBlock, ModelProvider, ProviderMessage, ToolSpec } from './providers/types'
import type { Publisher } from './publisher'
import { joinParts, nextSeq, stepMessageId, toolCallId, type SessionView } from './session-view'
import { runTool } from './tools'
import type { TurnRecorder } from './turn-records'
import { Cancelled, cancelledBy, TurnQueue, type TurnQueueOptions } from './turn-queue'

const MAX_STEPS_PER_TURN = 25
const FINAL_TOOL_STATUSES = new Set<ToolCall['status']>(['succeeded', 'failed', 'cancelled'])

export const SYSTEM_PROMPT =
  'You are an agent working in a Tether session. You have a work directory and tools to run shell ' +
  'commands and read, write and list files in it. Be concise.'

export interface AgentLoopOptions extends TurnQueueOptions {
  publisher: Publisher
  state: AgentStateTracker
  workDir: string
  provider: ModelProvider
  model: string
  tools: ToolSpec[]
  system?: string
  /** Keeps each turn's record (streaming, tool, done, …) current. */
  turns: TurnRecorder
}

export class AgentLoop extends TurnQueue {
  /** The step whose message is still open (its done chunk not written yet). */
  private openStep: { turn: number; step: number; writer: ChunkWriter } | null = null

  constructor(private readonly o: AgentLoopOptions) {
    super(o)
  }

  protected async runTurn(turn: number): Promise<boolean> {
    // Our own earlier writes must be in the view before we read history from it.
    await this.o.caughtUp()
    const { view, state, turns } = this.o
    const record = view.turnRecord(turn)
    if (record.ended) return false
    const controller = new AbortController()
    this.controller = controller
    const messages = buildHistory(view, turn)
    let step = 0
    try {
      turns.begin(turn)
      if (record.cancelRequested) throw new Cancelled(record.cancelControl)
      state.update({ status: 'thinking', currentStep: `turn ${turn}: thinking`, error: undefined })
      for (; step < MAX_STEPS_PER_TURN; step++) {
        const more = await this.runStep(turn, step, messages, controller.signal)
        if (!more) break
      }
      if (step === MAX_STEPS_PER_TURN) this.closeTurn(turn, step, `Stopped after ${MAX_STEPS_PER_TURN} steps.`)
      turns.update(turn, 'done')
      state.update({ status: 'idle', currentStep: null, turns: turn })
    } catch (err) {
      if (err instanceof Cancelled || controller.signal.aborted) {
        const reason: unknown = controller.signal.reason
        const control = err instanceof Cancelled && err.control ? err.control : reason instanceof Cancelled ? reason.control : undefined
        this.cancelTurn(turn)
        turns.update(turn, 'cancelled', cancelledBy(control ?? record.cancelControl))
        state.update({ status: 'idle', currentStep: `turn ${turn}: cancelled`, turns: turn })
      } else {
        const message = err instanceof Error ? err.message : String(err)
        log.error({ agentId: this.o.agentId, turn, error: message }, 'turn failed')
        this.cancelTurn(turn, `Model error: ${message}`)
        turns.update(turn, 'failed', { reason: message })
        state.update({ status: 'idle', currentStep: `turn ${turn}: failed`, error: message.slice(0, 2000), turns: turn })
      }
    } finally {
      this.controller = null
      await this.o.publisher.flush().catch(() => {})
    }
    return true
  }

  /** Runs (or resumes) step `s` of a turn; returns whether another step follows. */
  private async runStep(turn: number, s: number, messages: ProviderMessage[], signal: AbortSignal): Promise<boolean> {
    const { view, publisher, agentId } = this.o
    const messageId = stepMessageId(agentId, turn, s)
    const existing = view.turns.get(turn)?.steps.get(s)
    let text = existing ? joinParts(existing.parts) : ''
    let calls: ToolCall[] = (existing?.toolCallIds ?? []).map((id) => view.toolCalls.get(id)!).filter(Boolean)

    if (!existing?.done) {
      const writer = new ChunkWriter({
        publisher,
        agentId,
        messageId,
        turn,
        startSeq: existing ? nextSeq(existing.parts) : 0,
        onWrite: (seq, delta) => view.step(turn, s)?.parts.set(seq, delta),
      })
      this.openStep = { turn, step: s, writer }
      if (calls.length === 0) {
        const asked: Array<{ name: string; input: unknown }> = []
        for await (const event of this.o.provider.step({
          model: this.o.model,
          system: this.o.system ?? SYSTEM_PROMPT,
          messages,
          tools: this.o.tools,
          signal,
          ...(text ? { prefill: text } : {}),
        })) {
          if (signal.aborted) throw new Cancelled()
          if (event.type === 'text') {
            text += event.text
            this.o.turns.update(turn, 'streaming')
            writer.write(event.text)
          } else if (event.type === 'tool_call') asked.push(event)
          else this.o.state.addUsage(event.usage.inputTokens, event.usage.outputTokens, event.usage.costUsd)
        }
        writer.drain()
        const allowed = new Set(this.o.tools.map((t) => t.name))
        calls = asked.map((call, i) => {
          const record: ToolCall = {
            id: toolCallId(messageId, i),
            messageId,
            agentId,
            name: call.name,
            input: call.input ?? {},
            status: allowed.has(call.name) ? 'pending' : 'failed',
            ...(allowed.has(call.name) ? {} : { error: `tool ${call.name} is not allowed in this session`, endedAt: publisher.now() }),
            timestamp: publisher.now(),
          }
          publisher.publish('tool-call', record)
          view.step(turn, s)?.toolCallIds.push(record.id)
          view.toolCalls.set(record.id, record)
          return record
        })
      }
      writer.finish()
      this.openStep = null
    }

    messages.push({
      role: 'assistant',
      content: [
        ...(text ? [{ type: 'text' as const, text }] : []),
        ...calls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.input })),
      ],
    })
    if (calls.length === 0) return false

    const results: ContentBlock[] = []
    for (const call of calls) {
      const final = FINAL_TOOL_STATUSES.has(call.status) ? call : await this.execute(call, turn, signal)
      results.push(toolResultBlock(final))
    }
    messages.push({ role: 'user', content: results })
    this.o.state.update({ status: 'thinking', currentStep: `turn ${turn}: thinking` })
    return true
  }

  private async execute(call: ToolCall, turn: number, signal: AbortSignal): Promise<ToolCall> {
    const { publisher, view } = this.o
    const startedAt = publisher.now()
    const running: ToolCall = { ...call, status: 'running', startedAt, timestamp: startedAt }
    publisher.publish('tool-call', running)
    view.toolCalls.set(call.id, running)
    this.o.turns.update(turn, 'tool')
    this.o.state.update({ status: 'running-tool', currentStep: `turn ${turn}: ${call.name}` })
    const result = await runTool(call.name, call.input, this.o.workDir, signal)
    if (signal.aborted) throw new Cancelled()
    const endedAt = publisher.now()
    const done: ToolCall = {
      ...running,
      status: result.ok ? 'succeeded' : 'failed',
      output: result.exitCode === undefined ? result.output : { exitCode: result.exitCode, output: result.output },
      ...(result.ok ? {} : { error: result.exitCode === undefined ? result.output.slice(0, 2000) : `exit code ${result.exitCode}` }),
      endedAt,
      timestamp: endedAt,
    }
    publisher.publish('tool-call', done)
    view.toolCalls.set(call.id, done)
    return done
  }

  /** Ends an interrupted turn: closes its open message, cancels its unfinished tool calls. */
  private cancelTurn(turn: number, note?: string): void {
    const { view, publisher, agentId } = this.o
    const record = view.turnRecord(turn)
    if (this.openStep && this.openStep.turn === turn) {
      const hasText = (record.steps.get(this.openStep.step)?.parts.size ?? 0) > 0
      if (note) this.openStep.writer.write(hasText ? `\n\n${note}` : note)
      this.openStep.writer.finish()
      this.openStep = null
    }
    const now = publisher.now()
    for (const step of record.steps.values()) {
      for (const id of step.toolCallIds) {
        const call = view.toolCalls.get(id)
        if (call && !FINAL_TOOL_STATUSES.has(call.status)) {
          const cancelled: ToolCall = { ...call, status: 'cancelled', endedAt: now, timestamp: now }
          publisher.publish('tool-call', cancelled)
          view.toolCalls.set(id, cancelled)
        }
      }
    }
    // The turn has ended once a finished step asked for no tool; add one if needed.
    const steps = [...record.steps.values()].sort((a, b) => a.step - b.step)
    const last = steps.at(-1)
    if (last?.done && last.toolCallIds.length === 0) return
    if (last && !last.done && last.toolCallIds.length === 0) {
      new ChunkWriter({ publisher, agentId, messageId: last.messageId, turn, startSeq: nextSeq(last.parts) }).finish()
      return
    }
    if (last && !last.done) {
      new ChunkWriter({ publisher, agentId, messageId: last.messageId, turn, startSeq: nextSeq(last.parts) }).finish()
    }
    this.closeTurn(turn, last ? last.step + 1 : 0, note ?? '')
  }

  private closeTurn(turn: number, step: number, text: string): void {
    const { publisher, agentId } = this.o
    const writer = new ChunkWriter({ publisher, agentId, messageId: stepMessageId(agentId, turn, step), turn, startSeq: 0 })
    writer.write(text)
    writer.finish()
  }
}

function toolResultBlock(call: ToolCall): ContentBlock {
  const output = call.output
  const text =
    call.status === 'cancelled'
      ? 'cancelled'
      : typeof output === 'string'
        ? output
        : output && typeof output === 'object' && 'output' in output
          ? `exit code ${(output as { exitCode?: number }).exitCode}\n${String((output as { output: unknown }).output)}`
          : (call.error ?? JSON.stringify(output ?? null))
  return { type: 'tool_result', toolUseId: call.id, content: text, isError: call.status !== 'succeeded' }
}

/**
 * The conversation the model sees for turn `turn`: every earlier turn (user text, then each
 * finished step's text, tool calls and results) and this turn's user message. Steps of `turn`
 * itself are added by runStep as it replays or runs them.
 */
export function buildHistory(view: SessionView, turn: number): ProviderMessage[] {
  const messages: ProviderMessage[] = []
  for (let t = 1; t <= turn; t++) {
    const from = view.trigger(t)?.from
    // A hand-off answers another agent's reply: say who wrote it, in a block of its own (the
    // reply stays the last block, which is what the echo double reads).
    const said = from === undefined ? [] : [{ type: 'text' as const, text: `Agent @${from} wrote to you:\n` }]
    // With several agents: what the others said since this agent's previous turn (session-context.ts).
    const context = view.contextBefore(t)
    const before = context ? [{ type: 'text' as const, text: context }] : []
    messages.push({ role: 'user', content: [...before, ...said, { type: 'text', text: view.userText(t) }] })
    if (t === turn) break
    const record = view.turns.get(t)
    if (!record) continue
    for (const step of [...record.steps.values()].sort((a, b) => a.step - b.step)) {
      const text = joinParts(step.parts)
      const calls = step.toolCallIds.map((id) => view.toolCalls.get(id)).filter((c): c is ToolCall => Boolean(c))
      const content: ContentBlock[] = [
        ...(text ? [{ type: 'text' as const, text }] : []),
        ...calls.map((c) => ({ type: 'tool_use' as const, id: c.id, name: c.name, input: c.input })),
      ]
      if (content.length) messages.push({ role: 'assistant', content })
      if (calls.length) messages.push({ role: 'user', content: calls.map(toolResultBlock) })
    }
  }
  return mergeAdjacent(messages)
}

/** Providers want user/assistant alternation: merge neighbours with the same role. */
function mergeAdjacent(messages: ProviderMessage[]): ProviderMessage[] {
  const out: ProviderMessage[] = []
  for (const m of messages) {
    const prev = out.at(-1)
    if (prev && prev.role === m.role) prev.content.push(...m.content)
    else out.push({ role: m.role, content: [...m.content] })
  }
  return out
}
