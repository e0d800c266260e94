/**
 * What every agent turn loop shares (Tether's own, agent.ts, and the external programs',
 * adapters/external-loop.ts): turns run strictly in order, one at a time; cancel aborts the
 * running one (or only the turn it names); stop drops what is queued, cancels what runs and
 * resolves when the loop is idle. A subclass runs one turn.
 */
import type { AgentControl } from './events'
import { log } from './log'
import { setTurnRequestId, type TurnRequestId } from './request-id'
import type { SessionView } from './session-view'

/** Why a turn was aborted: a cancel or stop control. */
export class Cancelled extends Error {
  constructor(readonly control?: AgentControl) {
    super('cancelled')
  }
}

/** What the final turn record says about who cancelled it. */
export function cancelledBy(control: AgentControl | undefined): { reason: string; stopRequest?: string } {
  if (!control) return { reason: 'cancelled' }
  const what = control.action === 'stop' ? 'stopped' : 'cancelled'
  return { reason: `${what} by ${control.requestedBy} (${control.reason})`, stopRequest: control.id }
}

export interface TurnQueueOptions {
  view: SessionView
  agentId: string
  /** Resolves when the reader has applied everything this worker has had acknowledged. */
  caughtUp: () => Promise<void>
  /** Called when the queue has run dry after a turn. */
  onIdle?: () => void
  /** After a turn settled (done, cancelled, failed), before the next queued one starts. */
  afterTurn?: (turn: number, messageId: string) => Promise<void>
  /** This agent's request-id holder (its publisher's and provider's); the shared one when absent. */
  requestId?: TurnRequestId
}

export abstract class TurnQueue {
  private readonly queue: number[] = []
  private draining: Promise<void> | null = null
  private runningTurn: number | null = null
  private stopped = false
  /** The running turn's abort controller (set by runTurn). */
  protected controller: AbortController | null = null

  constructor(private readonly q: TurnQueueOptions) {}

  /** Runs (or resumes) a turn; answers whether it ran (false: it had ended before). */
  protected abstract runTurn(turn: number): Promise<boolean>

  /** Asks for turn `turn` (idempotent; turns run in order). */
  enqueue(turn: number): void {
    if (this.stopped || this.queue.includes(turn) || this.runningTurn === turn) return
    this.queue.push(turn)
    this.queue.sort((a, b) => a - b)
    this.draining ??= this.drain().finally(() => {
      this.draining = null
    })
  }

  /**
   * Aborts the running turn (any, or only `turn`); answers whether one was running. A queued
   * turn named by a cancel is skipped when it comes up (the view marked it).
   */
  cancel(control?: AgentControl, turn: number | null = null): boolean {
    if (!this.controller || (turn !== null && turn !== this.runningTurn)) return false
    this.controller.abort(new Cancelled(control))
    return true
  }

  /** Cancels what runs, drops what is queued, and resolves when the loop is idle. */
  async stop(control?: AgentControl): Promise<void> {
    this.stopped = true
    this.queue.length = 0
    this.cancel(control)
    await this.draining
  }

  get idle(): boolean {
    return this.draining === null
  }

  private setRequestId(messageId: string | undefined): void {
    if (this.q.requestId) this.q.requestId.set(messageId, this.q.agentId)
    else setTurnRequestId(messageId, this.q.agentId)
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const turn = this.queue.shift()!
      this.runningTurn = turn
      this.setRequestId(this.q.view.messageIdOf(turn))
      try {
        const settled = await this.runTurn(turn)
        const messageId = this.q.view.messageIdOf(turn)
        if (settled && messageId !== undefined) await this.q.afterTurn?.(turn, messageId)
      } catch (err) {
        // Only publishing can fail here, and a publisher failure already ends the worker.
        log.error({ agentId: this.q.agentId, turn, error: err instanceof Error ? err.message : String(err) }, 'turn aborted')
      } finally {
        this.runningTurn = null
        this.setRequestId(undefined)
      }
    }
    if (!this.stopped) {
      // Let the echo of our last writes reach the view before deciding anything on it.
      await this.q.caughtUp().catch(() => {})
      if (this.queue.length === 0) this.q.onIdle?.()
    }
  }
}
