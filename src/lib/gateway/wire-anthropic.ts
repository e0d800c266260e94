/**
 * The Anthropic Messages API as the gateway speaks it (native.ts), as pure translations:
 * a request body → the gateway's StepRequest, and the gateway's StepEvents → Messages API SSE
 * frames or one non-streamed message. What is not translated is refused with a reason (images,
 * documents) or dropped (cache_control, thinking blocks, server tools, sampling settings): the
 * gateway's providers speak text and tools only (specs/gateway.md, "Native wire endpoints").
 */
import { z } from 'zod'
import { MAX_MAX_TOKENS, type StepRequestBody } from './request'
import type { ContentBlock, ProviderMessage, StepEvent, ToolSpec, Usage } from './types'

/** A request the wire format allows but the gateway cannot serve; answered 400 with its message. */
export class WireError extends Error {}

const textBlock = z.object({ type: z.literal('text'), text: z.string() }).passthrough()
const block = z.object({ type: z.string() }).passthrough()
const content = z.union([z.string(), z.array(block)])

/** Only the fields the gateway reads are checked; the rest (temperature, metadata…) are ignored. */
export const anthropicRequestSchema = z
  .object({
    model: z.string().max(300).optional(),
    max_tokens: z.number().int().positive(),
    system: z.union([z.string(), z.array(textBlock)]).optional(),
    // Claude Code also sends `role: 'system'` entries among the messages: they join the system prompt.
    messages: z.array(z.object({ role: z.enum(['user', 'assistant', 'system']), content }).passthrough()).min(1),
    tools: z.array(z.object({ name: z.string() }).passthrough()).optional(),
    stream: z.boolean().optional(),
  })
  .passthrough()

export type AnthropicRequest = z.infer<typeof anthropicRequestSchema>

/** The count_tokens body: the same, without max_tokens. */
export const anthropicCountSchema = anthropicRequestSchema.omit({ max_tokens: true, stream: true })

const SKIPPED_BLOCKS = new Set(['thinking', 'redacted_thinking'])

function toolResultText(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (!Array.isArray(value)) throw new WireError('tool_result content must be a string or an array of text blocks')
  return value
    .map((b: { type?: unknown; text?: unknown }) => {
      if (b?.type === 'text' && typeof b.text === 'string') return b.text
      throw new WireError(`tool_result content blocks of type ${String(b?.type)} are not supported by this gateway (text only)`)
    })
    .join('\n')
}

function blocksOf(value: z.infer<typeof content>, where: string): ContentBlock[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }]
  const out: ContentBlock[] = []
  value.forEach((b, i) => {
    const r = b as Record<string, unknown>
    if (b.type === 'text' && typeof r.text === 'string') out.push({ type: 'text', text: r.text })
    else if (b.type === 'tool_use' && typeof r.id === 'string' && typeof r.name === 'string')
      out.push({ type: 'tool_use', id: r.id, name: r.name, input: r.input ?? {} })
    else if (b.type === 'tool_result' && typeof r.tool_use_id === 'string')
      out.push({ type: 'tool_result', toolUseId: r.tool_use_id, content: toolResultText(r.content), isError: r.is_error === true })
    else if (!SKIPPED_BLOCKS.has(b.type))
      throw new WireError(`${where}.content.${i}: blocks of type ${b.type} are not supported by this gateway (text, tool_use, tool_result)`)
  })
  return out
}

/** Request → StepRequest (the model is the caller's ask; the gateway serves the agent's anyway). */
export function fromAnthropic(body: z.infer<typeof anthropicCountSchema> & { max_tokens?: number }): StepRequestBody {
  const systems = typeof body.system === 'string' ? [body.system] : (body.system ?? []).map((b) => b.text)
  const messages: ProviderMessage[] = []
  body.messages.forEach((m, i) => {
    const content = blocksOf(m.content, `messages.${i}`)
    if (m.role === 'system') systems.push(...content.flatMap((b) => (b.type === 'text' ? [b.text] : [])))
    else if (content.length > 0) messages.push({ role: m.role, content })
  })
  const system = systems.filter(Boolean).join('\n\n')
  if (messages.length === 0) throw new WireError('messages: no text, tool_use or tool_result content')
  // Server tools (web_search_…, code_execution_…) have no input_schema: the provider would run
  // them, not the program, and the gateway's providers offer none, so they are left out.
  const tools: ToolSpec[] = (body.tools ?? [])
    .filter((t) => typeof t.input_schema === 'object' && t.input_schema !== null)
    .map((t) => ({
      name: t.name,
      description: typeof t.description === 'string' ? t.description : '',
      inputSchema: t.input_schema as Record<string, unknown>,
    }))
  return {
    model: body.model ?? '',
    system,
    messages,
    tools,
    ...(body.max_tokens !== undefined ? { maxTokens: Math.min(body.max_tokens, MAX_MAX_TOKENS) } : {}),
  }
}

type StopReason = 'end_turn' | 'tool_use' | 'max_tokens'

const stopReason = (toolCalls: number, usage: Usage | null, maxTokens: number): StopReason =>
  toolCalls > 0 ? 'tool_use' : usage && usage.outputTokens >= maxTokens ? 'max_tokens' : 'end_turn'

const frame = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`

/**
 * StepEvents → Messages API SSE frames. Text opens a text block, each tool call is a tool_use
 * block whose input arrives as one input_json_delta; usage is held for message_delta at the end.
 */
export class AnthropicStreamEncoder {
  private index = -1
  private textOpen = false
  private toolCalls = 0
  private usage: Usage | null = null

  constructor(
    private readonly messageId: string,
    private readonly model: string,
    private readonly maxTokens: number,
    private readonly newToolId: () => string,
  ) {}

  start(): string {
    const message = {
      id: this.messageId,
      type: 'message',
      role: 'assistant',
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
    }
    return frame('message_start', { message: { ...message, usage: { input_tokens: 0, output_tokens: 0 } } })
  }

  private closeText(): string {
    if (!this.textOpen) return ''
    this.textOpen = false
    return frame('content_block_stop', { index: this.index })
  }

  event(e: StepEvent): string {
    if (e.type === 'text') {
      let out = ''
      if (!this.textOpen) {
        this.textOpen = true
        this.index++
        out += frame('content_block_start', { index: this.index, content_block: { type: 'text', text: '' } })
      }
      return out + frame('content_block_delta', { index: this.index, delta: { type: 'text_delta', text: e.text } })
    }
    if (e.type === 'tool_call') {
      const out = this.closeText()
      this.index++
      this.toolCalls++
      const id = this.newToolId()
      return (
        out +
        frame('content_block_start', { index: this.index, content_block: { type: 'tool_use', id, name: e.name, input: {} } }) +
        frame('content_block_delta', {
          index: this.index,
          delta: { type: 'input_json_delta', partial_json: JSON.stringify(e.input ?? {}) },
        }) +
        frame('content_block_stop', { index: this.index })
      )
    }
    if (e.type === 'usage') {
      this.usage = e.usage
      return ''
    }
    // A failure mid-stream: the SDKs raise the error event's message.
    return this.closeText() + frame('error', { error: { type: 'api_error', message: e.error } })
  }

  finish(): string {
    const usage = { input_tokens: this.usage?.inputTokens ?? 0, output_tokens: this.usage?.outputTokens ?? 0 }
    return (
      this.closeText() +
      frame('message_delta', {
        delta: { stop_reason: stopReason(this.toolCalls, this.usage, this.maxTokens), stop_sequence: null },
        usage,
      }) +
      frame('message_stop', {})
    )
  }
}

/** StepEvents (no error among them) → one non-streamed Messages API message. */
export function anthropicMessage(messageId: string, model: string, maxTokens: number, events: StepEvent[], newToolId: () => string) {
  const content: Array<Record<string, unknown>> = []
  let usage: Usage | null = null
  let toolCalls = 0
  for (const e of events) {
    const last = content.at(-1)
    if (e.type === 'text') {
      if (last?.type === 'text') last.text = `${String(last.text)}${e.text}`
      else content.push({ type: 'text', text: e.text })
    } else if (e.type === 'tool_call') {
      toolCalls++
      content.push({ type: 'tool_use', id: newToolId(), name: e.name, input: e.input ?? {} })
    } else if (e.type === 'usage') usage = e.usage
  }
  return {
    id: messageId,
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReason(toolCalls, usage, maxTokens),
    stop_sequence: null,
    usage: { input_tokens: usage?.inputTokens ?? 0, output_tokens: usage?.outputTokens ?? 0 },
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
}

/** An Anthropic-style error body; `extra` (reason, numbers) rides along for Tether's own readers. */
export function anthropicError(status: number, message: string, extra: Record<string, unknown> = {}) {
  return { type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message }, ...extra }
}
