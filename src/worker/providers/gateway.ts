/**
 * The worker's only model provider: the server's model gateway. It POSTs the StepRequest to
 * `<serverUrl>/api/sessions/<id>/model` with the worker token and yields the NDJSON StepEvents
 * as they arrive. The provider keys, prices and budget checks all stay on the server
 * (src/lib/gateway); this process never sees a key.
 */
import { sessionApiPath } from '../../lib/common/session-contract'
import type { ModelProvider, StepEvent, StepRequest } from './types'
import { withTurnRequestId, type TurnRequestId } from '../request-id'
import { retryAfterMs } from '../../lib/common/backoff'
import { httpFetch } from '../http-fetch'

/** 429s (with Retry-After) one model call waits out before it fails. */
const MAX_RATE_LIMIT_WAITS = 5

export interface GatewayProviderOptions {
  serverUrl: string
  sessionId: string
  token: string
  fetch?: typeof fetch
  /** Whose turn rides on model calls as the request id (one per hosted agent; request-id.ts). */
  requestId?: TurnRequestId
}

/** The server refused or failed the call; `status` is the HTTP status (402: a session limit). */
export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly reason?: string,
  ) {
    super(message)
    this.name = 'GatewayError'
  }
}

async function refusal(response: Response): Promise<GatewayError> {
  const text = await response.text().catch(() => '')
  let error = text.slice(0, 1000)
  let reason: string | undefined
  try {
    const body = JSON.parse(text) as { error?: unknown; reason?: unknown }
    if (typeof body.error === 'string') error = body.error
    if (typeof body.reason === 'string') reason = body.reason
  } catch {
    // not JSON: keep the text
  }
  const what = response.status === 402 ? 'the server refused the model call' : `model gateway ${response.status}`
  return new GatewayError(`${what}: ${error || response.statusText}`, response.status, reason)
}

export class GatewayProvider implements ModelProvider {
  readonly name = 'gateway'
  private readonly url: string
  private readonly fetchImpl: typeof fetch

  constructor(private readonly options: GatewayProviderOptions) {
    this.url = sessionApiPath(options.sessionId, 'model', options.serverUrl)
    this.fetchImpl = withTurnRequestId(options.fetch ?? httpFetch, options.requestId)
  }

  async *step(request: StepRequest): AsyncIterable<StepEvent> {
    const { signal, ...body } = request
    const post = () =>
      this.fetchImpl(this.url, {
        method: 'POST',
        signal,
        headers: { authorization: `Bearer ${this.options.token}`, 'content-type': 'application/json', accept: 'application/x-ndjson' },
        body: JSON.stringify(body),
      })
    let response = await post()
    // A 429 refused the call before any provider request: wait what the server asks, then ask again.
    for (let waits = 0; response.status === 429 && waits < MAX_RATE_LIMIT_WAITS; waits++) {
      const wait = retryAfterMs(response)
      if (wait === null) break
      await response.body?.cancel().catch(() => {})
      await sleep(wait, signal)
      response = await post()
    }
    if (!response.ok || !response.body) throw await refusal(response)
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (value) buffer += value
        let newline: number
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim()
          buffer = buffer.slice(newline + 1)
          if (!line) continue
          const event = JSON.parse(line) as StepEvent | { type: 'error'; error: string }
          if (event.type === 'error') throw new GatewayError(event.error)
          yield event
        }
        if (done) break
      }
    } finally {
      await reader.cancel().catch(() => {})
    }
    if (buffer.trim()) throw new GatewayError('the model gateway ended mid-line')
  }
}

/** Resolves after `ms`; rejects when the call is aborted meanwhile (stop, cancel). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      reject(signal.reason)
    }, { once: true })
  })
}
