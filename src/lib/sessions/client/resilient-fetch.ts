/**
 * The fetch that session streams read through. It owns reconnection so the Durable Streams client
 * above it never sees a network failure:
 * - network errors, 5xx, 408 and 429 are retried with jittered, capped exponential backoff until
 *   they succeed or the read is aborted; the status store shows "reconnecting" with the next retry
 *   time (or "offline" while the browser says it has no network);
 * - other 4xx answers are final (bad token, unknown session): status goes offline/fatal and the
 *   response is passed up for the client to raise;
 * - JSON bodies are read completely before being handed over, and SSE bodies only ever pass whole
 *   batches (see sse-atomic.ts), so a drop mid-response becomes a retry from the last applied
 *   offset instead of a half-applied batch.
 */
import { retryAfterMs, retryDelayMs, type BackoffPolicy, DEFAULT_BACKOFF } from '../../common/backoff'
import type { ConnectionStatusStore } from './connection-status'
import { atomicSseBody } from './sse-atomic'

export interface ResilientFetchOptions {
  status: ConnectionStatusStore
  backoff?: BackoffPolicy
  baseFetch?: typeof fetch
  random?: () => number
}

const RETRYABLE_STATUS = new Set([408, 425, 429])

function abortError(): Error {
  return new DOMException('The operation was aborted.', 'AbortError')
}

/** Resolves after `ms`, early when the status store's "retry now" fires; rejects on abort. */
function sleep(ms: number, status: ConnectionStatusStore, signal?: AbortSignal | null): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError())
    const done = () => {
      clearTimeout(timer)
      removeWaker()
      signal?.removeEventListener('abort', onAbort)
      if (typeof window !== 'undefined') window.removeEventListener('online', done)
      resolve()
    }
    const onAbort = () => {
      clearTimeout(timer)
      removeWaker()
      if (typeof window !== 'undefined') window.removeEventListener('online', done)
      reject(abortError())
    }
    const timer = setTimeout(done, ms)
    const removeWaker = status.addWaker(done)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (typeof window !== 'undefined') window.addEventListener('online', done, { once: true })
  })
}

export function createResilientFetch(options: ResilientFetchOptions): typeof fetch {
  const { status, backoff = DEFAULT_BACKOFF, random = Math.random } = options
  const baseFetch = options.baseFetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init))

  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal
    let attempt = 0
    for (;;) {
      if (signal?.aborted) throw abortError()
      let reason: string
      // A 429's Retry-After: the next try waits at least that long (the budget refills then).
      let serverWait: number | null = null
      // Our own abort per attempt, so a live connection can be cut without ending the read.
      const attemptAbort = new AbortController()
      const onOuterAbort = () => attemptAbort.abort(signal?.reason)
      signal?.addEventListener('abort', onOuterAbort, { once: true })
      try {
        const response = await baseFetch(input, { ...init, signal: attemptAbort.signal })
        if (response.ok) {
          const ready = await settle(response, signal, status, attemptAbort)
          status.markLive()
          return ready
        }
        if (response.status >= 500 || RETRYABLE_STATUS.has(response.status)) {
          signal?.removeEventListener('abort', onOuterAbort)
          reason = `server answered ${response.status}`
          serverWait = response.status === 429 || response.status === 503 ? retryAfterMs(response) : null
          await response.body?.cancel().catch(() => undefined)
        } else {
          const text = await response
            .clone()
            .text()
            .catch(() => '')
          status.markFatal(describeRefusal(response.status, text))
          return response
        }
      } catch (err) {
        signal?.removeEventListener('abort', onOuterAbort)
        if (signal?.aborted) throw abortError()
        reason = err instanceof Error ? err.message : String(err)
      }
      attempt += 1
      const delay = Math.max(retryDelayMs(attempt, backoff, random), serverWait ?? 0)
      status.markReconnecting(attempt, Date.now() + delay, reason)
      await sleep(delay, status, signal)
    }
  }
}

/** Makes a successful response safe to hand over: SSE is made batch-atomic, anything else is read whole. */
async function settle(
  response: Response,
  signal: AbortSignal | null | undefined,
  status: ConnectionStatusStore,
  attemptAbort: AbortController,
): Promise<Response> {
  const contentType = response.headers.get('content-type') ?? ''
  if (contentType.includes('text/event-stream') && response.body) {
    const forget = status.addLiveConnection(() => attemptAbort.abort(new Error('network lost')))
    const body = atomicSseBody(response.body, signal ?? undefined, {
      onDrop: (reason) => {
        forget()
        status.markDropped(reason)
      },
      onControl: (control) => {
        if (control.streamClosed) status.markEnded()
      },
    })
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
  }
  if (response.headers.get('stream-closed')?.toLowerCase() === 'true') status.markEnded()
  if (response.status === 204 || !response.body) return response
  // A body that breaks half-way throws here, inside the retry loop, instead of in the reader.
  const bytes = await response.arrayBuffer()
  return new Response(bytes, { status: response.status, statusText: response.statusText, headers: response.headers })
}

function describeRefusal(statusCode: number, body: string): string {
  let detail = body.trim()
  try {
    const parsed = JSON.parse(detail) as { error?: unknown; message?: unknown }
    const reason = parsed.error ?? parsed.message
    // `{error: "…"}` (session layer) or `{error: {code, message}}` (streams server)
    if (typeof reason === 'string') detail = reason
    else if (reason && typeof reason === 'object' && 'message' in reason) detail = String((reason as { message: unknown }).message)
  } catch {
    // plain-text reason
  }
  const what =
    statusCode === 401
      ? 'not signed in (token missing or expired)'
      : statusCode === 403
        ? 'this link does not allow reading the session'
        : statusCode === 404
          ? 'no such session'
          : `refused (${statusCode})`
  // A 404's detail ("Stream not found") adds nothing to "no such session".
  return detail && statusCode !== 404 ? `${what}: ${detail.slice(0, 200)}` : what
}
