/**
 * OpenAI Chat Completions as the gateway speaks it (native.ts), as pure translations: a request
 * body → the gateway's StepRequest, and StepEvents → `chat.completion.chunk` SSE lines (ending
 * `data: [DONE]`) or one non-streamed `chat.completion`. Text and function tools only: image or
 * audio parts are refused with a reason; sampling settings are ignored (specs/gateway.md).
 */
import { z } from 'zod'
import { MAX_MAX_TOKENS, type StepRequestBody } from './request'
import type { ContentBlock, ProviderMessage, StepEvent, ToolSpec, Usage } from './types'
import { WireError } from './wire-anthropic'

const part = z.object({ type: z.string() }).passthrough()
const toolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal('function').optional(),
    function: z.object({ name: z.string(), arguments: z.string() }).passthrough(),
  })
  .passthrough()

/** Only the fields the gateway reads are checked; the rest (temperature, user…) are ignored. */
export const openAiRequestSchema = z
  .object({
    model: z.string().max(300).optional(),
    messages: z
      .array(
        z
          .object({
            role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
            content: z.union([z.string(), z.array(part), z.null()]).optional(),
            tool_calls: z.array(toolCall).optional(),
            tool_call_id: z.string().optional(),
          })
          .passthrough(),
      )
      .min(1),
    tools: z
      .array(
        z
          .object({
            type: z.literal('function'),
            function: z
              .object({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() })
              .passthrough(),
          })
          .passthrough(),
      )
      .optional(),
    max_tokens: z.number().int().positive().optional().nullable(),
    max_completion_tokens: z.number().int().positive().optional().nullable(),
    stream: z.boolean().optional().nullable(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().optional().nullable(),
  })
  .passthrough()

export type OpenAiRequest = z.infer<typeof openAiRequestSchema>

function textOf(content: OpenAiRequest['messages'][number]['content'], where: string): string {
  if (content === undefined || content === null) return ''
  if (typeof content === 'string') return content
  return content
    .map((p, i) => {
      const r = p as Record<string, unknown>
      if ((p.type === 'text' || p.type === 'input_text') && typeof r.text === 'string') return r.text
      throw new WireError(`${where}.content.${i}: parts of type ${p.type} are not supported by this gateway (text only)`)
    })
    .join('')
}

function parseArguments(raw: string): unknown {
  try {
    return raw.trim() === '' ? {} : JSON.parse(raw)
  } catch {
    // A model's malformed arguments are kept as the string it wrote; the provider sees it as is.
    return raw
  }
}

/** Request → StepRequest: system/developer messages become the system prompt, tool messages tool results. */
export function fromOpenAi(body: OpenAiRequest): StepRequestBody {
  const system: string[] = []
  const messages: ProviderMessage[] = []
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    if (blocks.length === 0) return
    const last = messages.at(-1)
    // Consecutive tool results (one `tool` message each) are one user turn, as the providers expect.
    if (
      last &&
      last.role === role &&
      role === 'user' &&
      blocks.every((b) => b.type === 'tool_result') &&
      last.content.every((b) => b.type === 'tool_result')
    )
      last.content.push(...blocks)
    else messages.push({ role, content: blocks })
  }
  body.messages.forEach((m, i) => {
    const where = `messages.${i}`
    const text = textOf(m.content, where)
    if (m.role === 'system' || m.role === 'developer') system.push(text)
    else if (m.role === 'user') push('user', text ? [{ type: 'text', text }] : [])
    else if (m.role === 'tool') {
      if (!m.tool_call_id) throw new WireError(`${where}.tool_call_id: required on a tool message`)
      push('user', [{ type: 'tool_result', toolUseId: m.tool_call_id, content: text, isError: false }])
    } else {
      const blocks: ContentBlock[] = text ? [{ type: 'text', text }] : []
      for (const c of m.tool_calls ?? [])
        blocks.push({ type: 'tool_use', id: c.id, name: c.function.name, input: parseArguments(c.function.arguments) })
      push('assistant', blocks)
    }
  })
  if (messages.length === 0) throw new WireError('messages: no user or assistant content')
  const tools: ToolSpec[] = (body.tools ?? []).map((t) => ({
    name: t.function.name,
    description: t.function.description ?? '',
    inputSchema: t.function.parameters ?? { type: 'object', properties: {} },
  }))
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  return {
    model: body.model ?? '',
    system: system.join('\n\n'),
    messages,
    tools,
    ...(maxTokens ? { maxTokens: Math.min(maxTokens, MAX_MAX_TOKENS) } : {}),
  }
}

type FinishReason = 'stop' | 'tool_calls' | 'length'
const finishReason = (toolCalls: number, usage: Usage | null, maxTokens: number): FinishReason =>
  toolCalls > 0 ? 'tool_calls' : usage && usage.outputTokens >= maxTokens ? 'length' : 'stop'

const openAiUsage = (u: Usage | null) => ({
  prompt_tokens: u?.inputTokens ?? 0,
  completion_tokens: u?.outputTokens ?? 0,
  total_tokens: (u?.inputTokens ?? 0) + (u?.outputTokens ?? 0),
})

const line = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`

/** StepEvents → Chat Completions SSE lines; usage is sent last when the request asked for it. */
export class OpenAiStreamEncoder {
  private toolCalls = 0
  private usage: Usage | null = null

  constructor(
    private readonly id: string,
    private readonly model: string,
    private readonly created: number,
    private readonly maxTokens: number,
    private readonly includeUsage: boolean,
    private readonly newToolId: () => string,
  ) {}

  private chunk(choices: unknown[], extra: Record<string, unknown> = {}) {
    return line({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices, ...extra })
  }

  start(): string {
    return this.chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])
  }

  event(e: StepEvent): string {
    if (e.type === 'text') return this.chunk([{ index: 0, delta: { content: e.text }, finish_reason: null }])
    if (e.type === 'tool_call') {
      const call = {
        index: this.toolCalls++,
        id: this.newToolId(),
        type: 'function',
        function: { name: e.name, arguments: JSON.stringify(e.input ?? {}) },
      }
      return this.chunk([{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }])
    }
    if (e.type === 'usage') {
      this.usage = e.usage
      return ''
    }
    // A failure mid-stream: the SDKs raise an `error` object found in the stream.
    return line({ error: { message: e.error, type: 'server_error' } })
  }

  finish(): string {
    let out = this.chunk([{ index: 0, delta: {}, finish_reason: finishReason(this.toolCalls, this.usage, this.maxTokens) }])
    if (this.includeUsage) out += this.chunk([], { usage: openAiUsage(this.usage) })
    return `${out}data: [DONE]\n\n`
  }
}

/** StepEvents (no error among them) → one non-streamed chat.completion. */
export function openAiCompletion(
  id: string,
  model: string,
  created: number,
  maxTokens: number,
  events: StepEvent[],
  newToolId: () => string,
) {
  let text = ''
  let usage: Usage | null = null
  const toolCalls: Array<Record<string, unknown>> = []
  for (const e of events) {
    if (e.type === 'text') text += e.text
    else if (e.type === 'tool_call')
      toolCalls.push({ id: newToolId(), type: 'function', function: { name: e.name, arguments: JSON.stringify(e.input ?? {}) } })
    else if (e.type === 'usage') usage = e.usage
  }
  const message = { role: 'assistant', content: text || null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) }
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, finish_reason: finishReason(toolCalls.length, usage, maxTokens) }],
    usage: openAiUsage(usage),
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'invalid_request_error',
  429: 'rate_limit_exceeded',
}

/** An OpenAI-style error body; `extra` (reason, numbers) rides along for Tether's own readers. */
export function openAiError(status: number, message: string, extra: Record<string, unknown> = {}) {
  const code = typeof extra.reason === 'string' ? extra.reason : null
  return { error: { message, type: ERROR_TYPES[status] ?? 'server_error', param: null, code }, ...extra }
}
