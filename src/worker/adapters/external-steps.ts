/**
 * One external turn's writes (issue #11): what an adapter reports (text, tool start/end, usage)
 * becomes the same stream shape Tether's own loop writes. Text goes into the current step's
 * message; a tool call hangs off the step it follows, and that step's message is finished right
 * after the call is recorded (so the step never looks like the turn's last one); text after a tool
 * opens the next step. The turn ends with a finished step that has no tool call, which is how
 * readers (and the worker's own view) know a turn is over.
 *
 * A turn a crash interrupted keeps what it wrote: its open step goes on (after a marker line),
 * tool calls the dead program never finished are cancelled, and new steps follow the old ones,
 * so no chunk or tool-call id is written twice and every message's seqs stay contiguous.
 */
import { ChunkWriter } from '../chunk-writer'
import type { ToolCall } from '../events'
import type { Publisher } from '../publisher'
import { nextSeq, stepMessageId, toolCallId, type SessionView } from '../session-view'
import type { TurnSink } from './types'

const FINAL = new Set<ToolCall['status']>(['succeeded', 'failed', 'cancelled'])
export const RESUMED_MARKER = '\n\n(resumed after the worker restarted)\n\n'

export interface ExternalStepsOptions {
  view: SessionView
  publisher: Publisher
  agentId: string
  turn: number
  /** The program is using a tool / streaming text (turn record and agent-state). */
  onTool: (name: string) => void
  onText: () => void
  onUsage: (inputTokens: number, outputTokens: number, costUsd: number) => void
  onStatus: (step: string) => void
}

export class ExternalSteps {
  private step: number
  private writer: ChunkWriter | null = null
  /** Whether the current step has tool calls (its message is finished; text after them opens the next step). */
  private stepHasToolCalls = false
  private readonly calls = new Map<string, ToolCall>()

  constructor(private readonly o: ExternalStepsOptions) {
    const record = o.view.turnRecord(o.turn)
    const steps = [...record.steps.values()].sort((a, b) => a.step - b.step)
    const last = steps.at(-1)
    this.cancelUnfinishedCalls()
    if (last && !last.done && last.toolCallIds.length === 0) {
      // Go on in the message the crash left open (never finished: the turn is not over).
      this.step = last.step
      this.writer = this.writerFor(last.step, nextSeq(last.parts))
      if (last.parts.size > 0) this.writer.write(RESUMED_MARKER)
    } else {
      if (last && !last.done) this.writerFor(last.step, nextSeq(last.parts)).finish()
      this.step = last ? last.step + 1 : 0
    }
  }

  readonly sink: TurnSink = {
    text: (delta) => {
      if (!delta) return
      if (!this.writer) {
        this.advanceIfNeeded()
        this.writer = this.writerFor(this.step, 0)
      }
      this.o.onText()
      this.writer.write(delta)
    },
    toolStart: ({ key, name, input }) => {
      if (this.calls.has(key)) return
      const messageId = stepMessageId(this.o.agentId, this.o.turn, this.step)
      const step = this.o.view.step(this.o.turn, this.step)
      const now = this.o.publisher.now()
      const call: ToolCall = {
        id: toolCallId(messageId, step?.toolCallIds.length ?? this.calls.size),
        messageId,
        agentId: this.o.agentId,
        name,
        input: (input ?? {}) as ToolCall['input'],
        status: 'running',
        startedAt: now,
        timestamp: now,
      }
      this.publish(key, call)
      step?.toolCallIds.push(call.id)
      // The step's message ends after its calls are known: it then reads as "more to come".
      if (this.writer) {
        this.writer.finish()
        this.writer = null
      } else if (!this.stepHasToolCalls) {
        this.writerFor(this.step, 0).finish()
      }
      this.stepHasToolCalls = true
      this.o.onTool(name)
    },
    toolEnd: (key, result) => {
      const call = this.calls.get(key)
      if (!call || FINAL.has(call.status)) return
      const now = this.o.publisher.now()
      this.publish(key, {
        ...call,
        status: result.ok ? 'succeeded' : 'failed',
        ...(result.output !== undefined ? { output: result.output as ToolCall['output'] } : {}),
        ...(result.ok ? {} : { error: (result.error ?? 'failed').slice(0, 2000) }),
        endedAt: now,
        timestamp: now,
      })
    },
    usage: ({ inputTokens, outputTokens, costUsd }) => this.o.onUsage(inputTokens, outputTokens, costUsd ?? 0),
    status: (step) => this.o.onStatus(step),
  }

  /** Called before text that follows tool calls: the next text opens a new step. */
  private advanceIfNeeded(): void {
    if (this.stepHasToolCalls && !this.writer) {
      this.step++
      this.stepHasToolCalls = false
    }
  }

  /**
   * Ends the turn's messages: cancels calls still running (with `note` on a cancel or a failure),
   * finishes the open message, and adds a closing step when the last one ended in a tool call.
   */
  finish(note?: string): void {
    this.cancelUnfinishedCalls()
    if (note) this.sink.text(this.writer ? `\n\n${note}` : note)
    if (this.writer) {
      this.writer.finish()
      this.writer = null
      if (!this.stepHasToolCalls) return
    }
    this.advanceIfNeeded()
    this.writerFor(this.step, 0).finish()
  }

  private writerFor(step: number, startSeq: number): ChunkWriter {
    const { view, publisher, agentId, turn } = this.o
    return new ChunkWriter({
      publisher,
      agentId,
      turn,
      messageId: stepMessageId(agentId, turn, step),
      startSeq,
      onWrite: (seq, delta) => view.step(turn, step)?.parts.set(seq, delta),
    })
  }

  private publish(key: string, call: ToolCall): void {
    this.calls.set(key, call)
    this.o.publisher.publish('tool-call', call)
    this.o.view.toolCalls.set(call.id, call)
  }

  /** Tool calls of this turn the program will not finish (it was cancelled, failed or died). */
  private cancelUnfinishedCalls(): void {
    const { view, publisher, turn } = this.o
    const now = publisher.now()
    for (const step of view.turnRecord(turn).steps.values()) {
      for (const id of step.toolCallIds) {
        const call = view.toolCalls.get(id)
        if (!call || FINAL.has(call.status)) continue
        const cancelled: ToolCall = { ...call, status: 'cancelled', endedAt: now, timestamp: now }
        publisher.publish('tool-call', cancelled)
        view.toolCalls.set(id, cancelled)
        for (const [key, mine] of this.calls) if (mine.id === id) this.calls.set(key, cancelled)
      }
    }
  }
}
