/**
 * Keeps this agent's `agent-state` entry current: status, step, cumulative tokens and cost,
 * ended turns, restarts, and a heartbeat (lastHeartbeat) every few seconds while the worker lives.
 */
import type { AgentState } from './events'
import type { Publisher } from './publisher'

export type AgentStatus = AgentState['status']

export interface AgentStateFields {
  status: AgentStatus
  currentStep: string | null
  model: string
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
  /** How many times this session's worker was started again after it died. */
  restarts: number
  error?: string
  /** The answer to the last stop / cancel control handled (see agentStateSchema). */
  lastControl?: AgentState['lastControl']
}

export class AgentStateTracker {
  private timer: NodeJS.Timeout | null = null
  readonly fields: AgentStateFields

  constructor(
    private readonly publisher: Publisher,
    private readonly agentId: string,
    initial: AgentStateFields,
  ) {
    this.fields = { ...initial }
  }

  update(patch: Partial<AgentStateFields>): void {
    Object.assign(this.fields, patch)
    if (patch.error === undefined && 'error' in patch) delete this.fields.error
    this.publish()
  }

  addUsage(inputTokens: number, outputTokens: number, costUsd: number): void {
    this.fields.tokensIn += inputTokens
    this.fields.tokensOut += outputTokens
    // Rounded to a nano-dollar so sums of small floats stay readable.
    this.fields.costUsd = Math.round((this.fields.costUsd + costUsd) * 1e9) / 1e9
  }

  publish(): void {
    const now = this.publisher.now()
    const { error, ...rest } = this.fields
    this.publisher.publish('agent-state', {
      id: this.agentId,
      kind: 'state',
      agentId: this.agentId,
      ...rest,
      ...(error ? { error } : {}),
      lastHeartbeat: now,
      timestamp: now,
    })
  }

  startHeartbeat(intervalMs: number): void {
    this.stopHeartbeat()
    this.timer = setInterval(() => this.publish(), intervalMs)
    this.timer.unref()
  }

  stopHeartbeat(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }
}
