/**
 * The model gateway's vocabulary. The wire part (StepRequest without its signal, StepEvent) is
 * what a worker sends to `POST /api/sessions/<id>/model` and reads back as NDJSON; the provider
 * part (ModelProvider, ProviderEvent) is what the server-side provider implementations speak.
 * Type-only for the worker (src/worker/providers/types.ts re-exports the wire types).
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

/** Usage as the gateway reports it to workers: cost is always the server's figure. */
export interface Usage {
  inputTokens: number
  outputTokens: number
  costUsd: number
}

/** One NDJSON line of the gateway's answer. `error` is only ever the last line. */
export type StepEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; name: string; input: unknown }
  | { type: 'usage'; usage: Usage }
  | { type: 'error'; error: string }

/**
 * Usage as a provider reports it: its own token counts, and a cost only when the provider
 * itself reports one (some OpenAI-compatible endpoints do); else the gateway prices the tokens.
 */
export interface ProviderUsage {
  inputTokens: number
  outputTokens: number
  reportedCostUsd?: number
}

export type ProviderEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; name: string; input: unknown }
  | { type: 'usage'; usage: ProviderUsage }

/** A model behind the gateway: streams one assistant step (text, then the tool calls it asks for). */
export interface ModelProvider {
  readonly name: string
  step(request: StepRequest): AsyncIterable<ProviderEvent>
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
