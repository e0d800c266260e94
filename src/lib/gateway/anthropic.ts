/**
 * Anthropic Messages API over fetch (streaming), no SDK: POST /v1/messages with `stream: true`,
 * text and tool_use content blocks, usage from message_start / message_delta. Server side only:
 * the key comes from the gateway's configuration, never from a worker.
 */
import { readSse } from './sse'
import { ProviderError, type ContentBlock, type ModelProvider, type ProviderEvent, type ProviderMessage, type StepRequest } from './types'

export interface AnthropicOptions {
  apiKey: string
  baseUrl?: string
  fetch?: typeof fetch
}

/** Anthropic tool_use ids must match ^[a-zA-Z0-9_-]+$; ours contain ':'. */
export const anthropicToolId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, '_')

function toAnthropicContent(block: ContentBlock): Record<string, unknown> | null {
  switch (block.type) {
    case 'text':
      return block.text ? { type: 'text', text: block.text } : null
    case 'tool_use':
      return { type: 'tool_use', id: anthropicToolId(block.id), name: block.name, input: block.input ?? {} }
    case 'tool_result':
      return {
        type: 'tool_result',
        tool_use_id: anthropicToolId(block.toolUseId),
        content: block.content || '(no output)',
        is_error: block.isError,
      }
  }
}

export function toAnthropicMessages(messages: ProviderMessage[], prefill?: string): Array<Record<string, unknown>> {
  const out = messages
    .map((m) => ({ role: m.role, content: m.content.map(toAnthropicContent).filter((b) => b !== null) }))
    .filter((m) => m.content.length > 0)
  // The API rejects a final assistant message that ends in whitespace.
  const trimmed = prefill?.trimEnd()
  if (trimmed) out.push({ role: 'assistant', content: [{ type: 'text', text: trimmed }] })
  return out
}

export class AnthropicProvider implements ModelProvider {
  readonly name = 'anthropic'
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch

  constructor(private readonly options: AnthropicOptions) {
    this.baseUrl = (options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')
    this.fetchImpl = options.fetch ?? fetch
  }

  async *step(request: StepRequest): AsyncIterable<ProviderEvent> {
    const response = await this.fetchImpl(`${this.baseUrl}/v1/messages`, {
      method: 'POST',
      signal: request.signal,
      headers: { 'content-type': 'application/json', 'x-api-key': this.options.apiKey, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({
        model: request.model,
        max_tokens: request.maxTokens ?? 4096,
        system: request.system,
        messages: toAnthropicMessages(request.messages, request.prefill),
        tools: request.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema })),
        stream: true,
      }),
    })
    if (!response.ok || !response.body) {
      throw new ProviderError(`Anthropic API ${response.status}: ${(await response.text()).slice(0, 500)}`, response.status)
    }
    let inputTokens = 0
    let outputTokens = 0
    // The prefill was sent without its trailing whitespace, which is already in the stream.
    let dropLeadingSpace = Boolean(request.prefill && request.prefill !== request.prefill.trimEnd())
    const toolBlocks = new Map<number, { name: string; json: string }>()
    for await (const record of readSse(response.body)) {
      // biome-ignore lint/suspicious/noExplicitAny: provider wire format
      const data = JSON.parse(record.data) as Record<string, any>
      switch (data.type) {
        case 'message_start':
          inputTokens = data.message?.usage?.input_tokens ?? 0
          outputTokens = data.message?.usage?.output_tokens ?? 0
          break
        case 'content_block_start':
          if (data.content_block?.type === 'tool_use') toolBlocks.set(data.index, { name: data.content_block.name, json: '' })
          break
        case 'content_block_delta':
          if (data.delta?.type === 'text_delta') {
            let text: string = data.delta.text
            if (dropLeadingSpace) {
              text = text.replace(/^\s+/, '')
              if (text) dropLeadingSpace = false
            }
            if (text) yield { type: 'text', text }
          } else if (data.delta?.type === 'input_json_delta') {
            const block = toolBlocks.get(data.index)
            if (block) block.json += data.delta.partial_json
          }
          break
        case 'content_block_stop': {
          const block = toolBlocks.get(data.index)
          if (block) {
            toolBlocks.delete(data.index)
            yield { type: 'tool_call', name: block.name, input: block.json ? JSON.parse(block.json) : {} }
          }
          break
        }
        case 'message_delta':
          outputTokens = data.usage?.output_tokens ?? outputTokens
          break
        case 'error':
          throw new ProviderError(`Anthropic stream error: ${data.error?.message ?? record.data}`)
        default:
          break
      }
    }
    // Anthropic reports tokens, not money: the gateway prices them.
    yield { type: 'usage', usage: { inputTokens, outputTokens } }
  }
}
