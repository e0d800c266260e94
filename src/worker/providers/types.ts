/**
 * What the agent loop needs from a model: stream one assistant step (text deltas, then the tool
 * calls it asks for) and the server's figure for its token usage and cost. The wire types are
 * the model gateway's (src/lib/gateway/types.ts); the worker itself never talks to a provider.
 */
import type { StepEvent as WireStepEvent, StepRequest } from '../../lib/gateway/types'

export type { ContentBlock, ProviderMessage, StepRequest, ToolSpec, Usage } from '../../lib/gateway/types'

/** What a step yields to the agent loop (a gateway `error` line becomes a thrown error). */
export type StepEvent = Exclude<WireStepEvent, { type: 'error' }>

export interface ModelProvider {
  readonly name: string
  step(request: StepRequest): AsyncIterable<StepEvent>
}
