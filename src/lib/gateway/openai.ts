/**
 * Any OpenAI-compatible chat completions endpoint (OpenAI, Ollama, vLLM, llama.cpp server, …):
 * POST <baseUrl>/chat/completions with `stream: true` and function tools. Usage comes from the
 * final `usage` chunk (stream_options.include_usage); a `cost` field there, when the endpoint
 * reports one, is used as is (else the gateway prices the tokens).
 */
import { readSse } from './sse'
import { ProviderError, type ModelProvider, type ProviderEvent, type ProviderMessage, type StepRequest } from './types'

export interface OpenAiOptions {
  baseUrl: string
  apiKey?: string
  fetch?: typeof fetch
}

export function toOpenAiMessages(system: string, messages: ProviderMessage[], prefill?: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [{ role: 'system', content: system }]
  for (const message of messages) {
    const text = message.content.map((b) => (b.type === 'text' ? b.text : '')).join('')
    if (message.role === 'assistant') {
      const calls = message.content.flatMap((b) =>
        b.type === 'tool_use' ? [{ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } }] : [],
      )
      out.push({ role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) })
      continue
    }
    for (const block of message.content) {
      if (block.type === 'tool_result') out.push({ role: 'tool', tool_call_id: block.toolUseId, content: block.content })
    }
    if (text) out.push({ role: 'user', content: text })
  }
  if (prefill) out.push({ role: 'assistant', content: prefill })
  return out
}

export class OpenAiCompatibleProvider implements ModelProvider {
  readonly name = 'openai'
  private readonly fetchImpl: typeof fetch

  constructor(private readonly options: OpenAiOptions) {
    this.fetchImpl = options.fetch ?? fetch
  }

  async *step(request: StepRequest): AsyncIterable<ProviderEvent> {
    const url = `${this.options.baseUrl.replace(/\/+$/, '')}/chat/completions`
    const response = await this.fetchImpl(url, {
      method: 'POST',
      signal: request.signal,
      headers: { 'content-type': 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
      body: JSON.stringify({
        model: request.model,
        messages: toOpenAiMessages(request.system, request.messages, request.prefill),
        tools: request.tools.map((t) => ({
          type: 'function',
          function: { name: t.name, description: t.description, parameters: t.inputSchema },
        })),
        stream: true,
        stream_options: { include_usage: true },
        ...(request.maxTokens ? { max_tokens: request.maxTokens } : {}),
      }),
    })
    if (!response.ok || !response.body) {
      throw new ProviderError(`${url} ${response.status}: ${(await response.text()).slice(0, 500)}`, response.status)
    }
    const calls = new Map<number, { name: string; args: string }>()
    let usage: { prompt_tokens?: number; completion_tokens?: number; cost?: number } | undefined
    for await (const record of readSse(response.body)) {
      if (record.data === '[DONE]') break
      // biome-ignore lint/suspicious/noExplicitAny: provider wire format
      const data = JSON.parse(record.data) as Record<string, any>
      if (data.error) throw new ProviderError(`${url}: ${data.error.message ?? record.data}`)
      if (data.usage) usage = data.usage
      const delta = data.choices?.[0]?.delta
      if (!delta) continue
      if (typeof delta.content === 'string' && delta.content) yield { type: 'text', text: delta.content }
      for (const call of delta.tool_calls ?? []) {
        const entry = calls.get(call.index ?? 0) ?? { name: '', args: '' }
        if (call.function?.name) entry.name = call.function.name
        if (call.function?.arguments) entry.args += call.function.arguments
        calls.set(call.index ?? 0, entry)
      }
    }
    for (const call of [...calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c)) {
      yield { type: 'tool_call', name: call.name, input: call.args ? JSON.parse(call.args) : {} }
    }
    const inputTokens = usage?.prompt_tokens ?? 0
    const outputTokens = usage?.completion_tokens ?? 0
    const reported =
      typeof usage?.cost === 'number' && Number.isFinite(usage.cost) && usage.cost >= 0 ? { reportedCostUsd: usage.cost } : {}
    yield { type: 'usage', usage: { inputTokens, outputTokens, ...reported } }
  }
}
