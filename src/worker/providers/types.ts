/**
 * What the agent loop needs from a model: stream one assistant step (text deltas, then the tool
 * calls it asks for) and report the provider's own token usage and cost.
 */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; toolUseId: string; content: string; isError: boolean }

export interface ProviderMessage {
  role: 'user' | 'assistant'
  content: ContentBlock[]
}

export interface ToolSpec {
  name: string
  description: string
  /** JSON Schema of the input object. */
  inputSchema: Record<string, unknown>
}

export interface StepRequest {
  model: string
  system: string
  messages: ProviderMessage[]
  tools: ToolSpec[]
  /**
   * Text this step already streamed before the worker restarted: the provider continues after
   * it (assistant prefill) instead of starting the step over.
   */
  prefill?: string
  signal: AbortSignal
  maxTokens?: number
}

export interface Usage {
  inputTokens: number
  outputTokens: number
  /** From the provider when it reports one, else from its published per-token prices. */
  costUsd: number
}

export type StepEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; name: string; input: unknown }
  | { type: 'usage'; usage: Usage }

export interface ModelProvider {
  readonly name: string
  step(request: StepRequest): AsyncIterable<StepEvent>
}

export class ProviderError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message)
    this.name = 'ProviderError'
  }
}
