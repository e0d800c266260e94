/**
 * The body of `POST /api/sessions/<id>/model`: one StepRequest, validated with bounds so a worker
 * cannot make the server hold (or a provider bill) an arbitrarily large request.
 */
import { z } from 'zod'

/** Largest request body; a long conversation with tool output fits, a runaway one does not. */
export const MAX_MODEL_BODY_BYTES = 8 * 1024 * 1024
/** Output tokens asked for when the worker names none (what the Anthropic provider always sent). */
export const DEFAULT_MAX_TOKENS = 4096
export const MAX_MAX_TOKENS = 128_000

const MiB = 1024 * 1024
const id = z.string().min(1).max(300)

const contentBlockSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().max(MiB) }).strict(),
  z.object({ type: z.literal('tool_use'), id, name: z.string().min(1).max(200), input: z.unknown() }).strict(),
  z.object({ type: z.literal('tool_result'), toolUseId: id, content: z.string().max(MiB), isError: z.boolean() }).strict(),
])

const messageSchema = z.object({ role: z.enum(['user', 'assistant']), content: z.array(contentBlockSchema).max(500) }).strict()

const toolSpecSchema = z
  .object({
    name: z.string().min(1).max(200),
    description: z.string().max(20_000),
    inputSchema: z.record(z.string(), z.unknown()),
  })
  .strict()

export const stepRequestSchema = z
  .object({
    model: z.string().min(1).max(300),
    system: z.string().max(MiB),
    messages: z.array(messageSchema).min(1).max(5_000),
    tools: z.array(toolSpecSchema).max(100),
    prefill: z.string().max(MiB).optional(),
    maxTokens: z.number().int().positive().max(MAX_MAX_TOKENS).optional(),
  })
  .strict()

export type StepRequestBody = z.infer<typeof stepRequestSchema>

/** Characters of everything the provider will read, for the worst-case input estimate. */
export function requestChars(body: StepRequestBody): number {
  return body.system.length + JSON.stringify(body.messages).length + JSON.stringify(body.tools).length + (body.prefill?.length ?? 0)
}
