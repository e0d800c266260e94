/**
 * `POST /api/sessions/<id>/model`: the model gateway. The only place provider keys live: a
 * worker sends the StepRequest it wants answered with its worker token, the server checks the
 * session's limits against its own ledger, adds the key, calls the provider and streams the
 * StepEvents back as NDJSON (one JSON object a line, flushed as they come; an `error` line last
 * when the provider fails mid-stream). `…/model/anthropic/…` and `…/model/openai/…` are the same
 * gateway in those providers' own wire formats (native.ts), for external agent programs.
 *
 * Refusals happen before any provider request (core.ts): 403 for every caller but the session's
 * own worker (admin included: this is the worker's endpoint, an admin posts messages instead), 403
 * for a worker whose subject is not one of the session's agents, 403 for a model other than the
 * calling agent's, 402 when the worst case of the call would pass the session's budget (or the
 * turn limit is reached), which also ends the session with `limit:budget` / `limit:turns`
 * through the manager, like the monitor does; 402 when it would pass the calling agent's own
 * budget or turn limit (issue #15), which stops only that agent (agent-limit-stops.ts); 503 when
 * the server has no key or no price for the model.
 */
import { HttpError, json, parseWith, readJsonBody } from '../sessions/http'
import type { TokenClaims } from '../sessions/tokens'
import { createGatewayCore, type ModelGatewayOptions } from './core'
import { createNativeGateway } from './native'
import { MAX_MODEL_BODY_BYTES, stepRequestSchema } from './request'

export type { ModelGatewayOptions } from './core'

export type ModelGateway = (req: Request, claims: TokenClaims, sessionId: string) => Promise<Response>

/** What follows `/<id>/model/` in the request's path (`anthropic/v1/messages`), or '' for the gateway itself. */
function subPath(req: Request, sessionId: string): string {
  const parts = new URL(req.url).pathname.split('/')
  const at = parts.findIndex((p, i) => p === 'model' && i > 0 && decodeURIComponent(parts[i - 1] ?? '') === sessionId)
  return at < 0 ? '' : parts.slice(at + 1).join('/')
}

export function createModelGateway(opts: ModelGatewayOptions): ModelGateway {
  const core = createGatewayCore(opts)
  const native = createNativeGateway(core)

  return async (req, claims, id) => {
    const sub = subPath(req, id)
    if (sub !== '') return native(req, claims, id, sub)
    if (req.method !== 'POST') throw new HttpError(405, `method ${req.method} not allowed`, undefined, { allow: 'POST' })
    await core.authorise(claims, id)
    const body = parseWith(stepRequestSchema, await readJsonBody(req, MAX_MODEL_BODY_BYTES))
    const result = await core.call(req, claims, id, body, false)
    if (!result.ok) {
      const { status, error, reason, extra } = result.refusal
      return json({ ok: false, error, reason, ...extra }, status)
    }
    const { call } = result
    const encoder = new TextEncoder()
    const stream = new ReadableStream<Uint8Array>({
      async pull(out) {
        const event = await call.next()
        if (event === null) return out.close()
        try {
          out.enqueue(encoder.encode(`${JSON.stringify(event)}\n`))
          if (event.type === 'error') out.close()
        } catch {
          // The worker is gone; nobody to tell.
        }
      },
      cancel() {
        call.cancel()
      },
    })
    return new Response(stream, {
      status: 200,
      headers: { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
    })
  }
}
