/**
 * The gateway's native wire endpoints (issue #11): external agent programs (opencode, Claude
 * Code) speak their provider's own API, so the gateway answers in it too:
 *   POST …/model/anthropic/v1/messages               Anthropic Messages (SSE or JSON)
 *   POST …/model/anthropic/v1/messages/count_tokens  the gateway's estimate (chars / 4)
 *   POST …/model/openai/v1/chat/completions          OpenAI Chat Completions (SSE or JSON)
 *   GET  …/model/openai/v1/models                    the calling agent's model
 * Same core as `POST …/model` (core.ts): worker token only, the same limits, ledger rows and
 * providers. Every call is served with the calling agent's configured model, whatever the body
 * asks (a program cannot pick a pricier one). Errors come in the provider's own error shape, with
 * `x-should-retry: false` on refusals so the SDKs do not retry a call that will be refused again.
 */
import { randomBytes } from 'node:crypto'
import { httpErrorOf, isAnswerable, parseWith, readJsonBody } from '../sessions/http'
import { SessionError } from '../sessions/session-errors'
import type { TokenClaims } from '../sessions/tokens'
import type { CallStream, GatewayCore } from './core'
import { estimateTokens } from './pricing'
import { MAX_MODEL_BODY_BYTES, requestChars, stepRequestSchema, type StepRequestBody } from './request'
import type { StepEvent } from './types'
import {
  anthropicCountSchema,
  anthropicError,
  anthropicMessage,
  anthropicRequestSchema,
  AnthropicStreamEncoder,
  fromAnthropic,
  WireError,
} from './wire-anthropic'
import { fromOpenAi, openAiCompletion, openAiError, openAiRequestSchema, OpenAiStreamEncoder } from './wire-openai'

export type NativeGateway = (req: Request, claims: TokenClaims, sessionId: string, sub: string) => Promise<Response>

type Wire = 'anthropic' | 'openai'

const newId = (prefix: string) => () => `${prefix}${randomBytes(12).toString('base64url')}`

const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers } })

function wireError(wire: Wire, status: number, message: string, extra: Record<string, unknown> = {}): Response {
  const body = wire === 'anthropic' ? anthropicError(status, message, extra) : openAiError(status, message, extra)
  // A refusal stands until something changes (a budget, a role): retrying it only adds load.
  return jsonResponse(body, status, status >= 500 && status !== 503 ? {} : { 'x-should-retry': 'false' })
}

/** The wire's body → a bounded StepRequest (400 in the wire's style on the way out if not). */
function bounded(step: StepRequestBody): StepRequestBody {
  return parseWith(stepRequestSchema, { ...step, model: step.model || 'unspecified' })
}

async function collect(call: CallStream): Promise<{ events: StepEvent[]; error?: string }> {
  const events: StepEvent[] = []
  for (let e = await call.next(); e !== null; e = await call.next()) {
    if (e.type === 'error') return { events, error: e.error }
    events.push(e)
  }
  return { events }
}

interface Encoder {
  start(): string
  event(e: StepEvent): string
  finish(): string
}

function sse(call: CallStream, encoder: Encoder): Response {
  const bytes = new TextEncoder()
  const stream = new ReadableStream<Uint8Array>({
    start(out) {
      out.enqueue(bytes.encode(encoder.start()))
    },
    async pull(out) {
      // Each pull sends at least one frame (usage is held for the end, so it sends none).
      for (;;) {
        const e = await call.next()
        try {
          if (e === null) {
            out.enqueue(bytes.encode(encoder.finish()))
            return out.close()
          }
          const frame = encoder.event(e)
          if (frame) out.enqueue(bytes.encode(frame))
          if (e.type === 'error') return out.close()
          if (frame) return
        } catch {
          return // The program is gone; cancel() settles the call.
        }
      }
    },
    cancel() {
      call.cancel()
    },
  })
  return new Response(stream, {
    status: 200,
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' },
  })
}

export function createNativeGateway(core: GatewayCore): NativeGateway {
  const anthropicMessages = async (req: Request, claims: TokenClaims, id: string): Promise<Response> => {
    const raw = parseWith(anthropicRequestSchema, await readJsonBody(req, MAX_MODEL_BODY_BYTES))
    const step = bounded(fromAnthropic(raw))
    const result = await core.call(req, claims, id, step, true)
    if (!result.ok)
      return wireError('anthropic', result.refusal.status, result.refusal.error, { reason: result.refusal.reason, ...result.refusal.extra })
    const messageId = newId('msg_')()
    const toolId = newId('toolu_')
    if (raw.stream === true) return sse(result.call, new AnthropicStreamEncoder(messageId, result.model, result.maxTokens, toolId))
    const { events, error } = await collect(result.call)
    if (error !== undefined) return wireError('anthropic', 502, error)
    return jsonResponse(anthropicMessage(messageId, result.model, result.maxTokens, events, toolId))
  }

  const countTokens = async (req: Request, claims: TokenClaims, id: string): Promise<Response> => {
    const raw = parseWith(anthropicCountSchema, await readJsonBody(req, MAX_MODEL_BODY_BYTES))
    const step = bounded(fromAnthropic(raw))
    await core.resolve(claims, id, step.model) // only the session's agents may ask
    return jsonResponse({ input_tokens: estimateTokens(requestChars(step)) })
  }

  const chatCompletions = async (req: Request, claims: TokenClaims, id: string): Promise<Response> => {
    const raw = parseWith(openAiRequestSchema, await readJsonBody(req, MAX_MODEL_BODY_BYTES))
    const step = bounded(fromOpenAi(raw))
    const result = await core.call(req, claims, id, step, true)
    if (!result.ok)
      return wireError('openai', result.refusal.status, result.refusal.error, { reason: result.refusal.reason, ...result.refusal.extra })
    const completionId = newId('chatcmpl-')()
    const toolId = newId('call_')
    const created = Math.floor(Date.now() / 1000)
    if (raw.stream === true) {
      const includeUsage = raw.stream_options?.include_usage === true
      return sse(result.call, new OpenAiStreamEncoder(completionId, result.model, created, result.maxTokens, includeUsage, toolId))
    }
    const { events, error } = await collect(result.call)
    if (error !== undefined) return wireError('openai', 502, error)
    return jsonResponse(openAiCompletion(completionId, result.model, created, result.maxTokens, events, toolId))
  }

  const models = async (claims: TokenClaims, id: string): Promise<Response> => {
    const { agent } = await core.resolve(claims, id, '')
    return jsonResponse({ object: 'list', data: [{ id: agent.model, object: 'model', created: 0, owned_by: 'tether' }] })
  }

  const routes: Record<string, { method: string; wire: Wire; run: (req: Request, claims: TokenClaims, id: string) => Promise<Response> }> =
    {
      'anthropic/v1/messages': { method: 'POST', wire: 'anthropic', run: anthropicMessages },
      'anthropic/v1/messages/count_tokens': { method: 'POST', wire: 'anthropic', run: countTokens },
      'openai/v1/chat/completions': { method: 'POST', wire: 'openai', run: chatCompletions },
      'openai/v1/models': { method: 'GET', wire: 'openai', run: (_req, claims, id) => models(claims, id) },
    }

  return async (req, claims, id, sub) => {
    const path = sub.replace(/\/+$/, '')
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined
    const wire: Wire = route?.wire ?? (path.startsWith('openai/') ? 'openai' : 'anthropic')
    try {
      if (!route)
        return wireError(
          wire,
          404,
          `no model endpoint ${sub} (anthropic/v1/messages, anthropic/v1/messages/count_tokens, openai/v1/chat/completions, openai/v1/models)`,
        )
      if (req.method !== route.method) return wireError(wire, 405, `method ${req.method} not allowed (${route.method})`)
      await core.authorise(claims, id)
      return await route.run(req, claims, id)
    } catch (err) {
      if (err instanceof WireError) return wireError(wire, 400, err.message)
      if (isAnswerable(err)) {
        const http = err instanceof SessionError ? httpErrorOf(err) : err
        return wireError(wire, http.status, http.message)
      }
      throw err
    }
  }
}
