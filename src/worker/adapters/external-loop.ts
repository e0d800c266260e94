/**
 * The turn loop for an external agent program (issue #11): the same contract as Tether's own loop
 * (agent.ts: turns run strictly in order, cancel aborts the running one, stop ends the loop), but
 * each turn is handed whole to an adapter, which runs its program and reports what happens
 * (external-steps.ts writes it). The program is started on the first turn and again after a
 * failed start; stop closes it.
 */
import type { AgentStateTracker } from '../agent-state'
import { buildHistory } from '../agent'
import type { AgentControl } from '../events'
import { log } from '../log'
import type { Publisher } from '../publisher'
import type { SessionView } from '../session-view'
import type { TurnRecorder } from '../turn-records'
import { Cancelled, cancelledBy, TurnQueue, type TurnQueueOptions } from '../turn-queue'
import { ExternalSteps } from './external-steps'
import type { AgentAdapter } from './types'

export interface ExternalLoopOptions extends TurnQueueOptions {
  /** Makes the adapter (once; again after it failed to start). */
  adapter: () => Promise<AgentAdapter>
  publisher: Publisher
  state: AgentStateTracker
  turns: TurnRecorder
}

/** What the agent reads for `turn`: what others said meanwhile, who handed it over, the message. */
export function promptOf(view: SessionView, turn: number): string {
  const from = view.trigger(turn)?.from
  return [view.contextBefore(turn), from === undefined ? '' : `Agent @${from} wrote to you:`, view.userText(turn)]
    .filter((part) => part !== '')
    .join('\n')
}

export class ExternalTurnLoop extends TurnQueue {
  private adapter: Promise<AgentAdapter> | null = null

  constructor(private readonly o: ExternalLoopOptions) {
    super(o)
  }

  /** Stops the loop, then the program. */
  override async stop(control?: AgentControl): Promise<void> {
    await super.stop(control)
    const adapter = await this.adapter?.catch(() => null)
    await adapter?.close().catch((err: unknown) => log.warn({ agentId: this.o.agentId, error: String(err) }, 'adapter close failed'))
  }

  /**
   * Starts the program now, before any turn asks for it, so the first answer does not wait for its
   * start (Claude Code's spawn, `opencode serve`'s boot). A failure here is retried by the first turn.
   */
  prestart(): void {
    this.started().catch((err: unknown) => log.warn({ agentId: this.o.agentId, error: String(err) }, 'agent program did not start yet'))
  }

  /** The started adapter; a failed start is forgotten so the next turn tries again. */
  private started(): Promise<AgentAdapter> {
    this.adapter ??= (async () => {
      const adapter = await this.o.adapter()
      await adapter.start()
      return adapter
    })().catch((err: unknown) => {
      this.adapter = null
      throw err
    })
    return this.adapter
  }

  protected async runTurn(turn: number): Promise<boolean> {
    await this.o.caughtUp()
    const { view, state, turns, publisher } = this.o
    const record = view.turnRecord(turn)
    if (record.ended) return false
    const controller = new AbortController()
    this.controller = controller
    const resumed = record.steps.size > 0
    turns.begin(turn)
    const steps = new ExternalSteps({
      view,
      publisher,
      agentId: this.o.agentId,
      turn,
      onText: () => turns.update(turn, 'streaming'),
      onTool: (name) => {
        turns.update(turn, 'tool')
        state.update({ status: 'running-tool', currentStep: `turn ${turn}: ${name}` })
      },
      onUsage: (inputTokens, outputTokens, costUsd) => state.addUsage(inputTokens, outputTokens, costUsd),
      onStatus: (step) => state.update({ currentStep: `turn ${turn}: ${step}` }),
    })
    try {
      if (record.cancelRequested) throw new Cancelled(record.cancelControl)
      state.update({ status: 'thinking', currentStep: `turn ${turn}: thinking`, error: undefined })
      const adapter = await this.started()
      if (controller.signal.aborted) throw new Cancelled()
      await adapter.runTurn(
        { turn, prompt: promptOf(view, turn), history: buildHistory(view, turn), resumed, signal: controller.signal },
        steps.sink,
      )
      if (controller.signal.aborted) throw new Cancelled()
      steps.finish()
      turns.update(turn, 'done')
      state.update({ status: 'idle', currentStep: null, turns: turn })
    } catch (err) {
      if (err instanceof Cancelled || controller.signal.aborted) {
        const reason: unknown = controller.signal.reason
        const control = err instanceof Cancelled && err.control ? err.control : reason instanceof Cancelled ? reason.control : undefined
        steps.finish()
        turns.update(turn, 'cancelled', cancelledBy(control ?? record.cancelControl))
        state.update({ status: 'idle', currentStep: `turn ${turn}: cancelled`, turns: turn })
      } else {
        const message = err instanceof Error ? err.message : String(err)
        log.error({ agentId: this.o.agentId, turn, error: message }, 'turn failed')
        steps.finish(`Agent error: ${message}`)
        turns.update(turn, 'failed', { reason: message })
        state.update({ status: 'idle', currentStep: `turn ${turn}: failed`, error: message.slice(0, 2000), turns: turn })
      }
    } finally {
      this.controller = null
      await publisher.flush().catch(() => {})
    }
    return true
  }
}
