/**
 * Writes events to a session through the event writer, `POST /api/streams?sessionId=<id>` with
 * `{channel, data}` (or an array), which answers `{ok, offset}`. Network failures and 5xx are
 * retried a few times (the event ids make retries idempotent); a 429 (rate limit) waits the
 * server's Retry-After and tries again, up to MAX_RATE_LIMIT_WAITS times, without spending those
 * attempts (nothing was written, so nothing can be written twice); any other refusal (4xx) is
 * final and raised as a WriteError carrying the server's reason.
 */
import { STREAMS_MOUNT } from '../../common/session-contract'
import { retryAfterMs, retryDelayMs } from '../../common/backoff'
import { refusalText } from './refusal-text'

export interface EventInput {
  channel: string
  data: Record<string, unknown>
  /** event id, for idempotent retries */
  id?: string
  operation?: string
  txid?: string
}

export class WriteError extends Error {
  constructor(
    message: string,
    /** HTTP status, or 0 when the server could not be reached */
    readonly status: number,
  ) {
    super(message)
    this.name = 'WriteError'
  }
}

export interface WriteTarget {
  sessionId: string
  token?: string
  origin?: string
}

const MAX_ATTEMPTS = 4
/** Rate-limit waits (429 with Retry-After) one write sits through before giving up. */
const MAX_RATE_LIMIT_WAITS = 20

async function reasonOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown; reason?: unknown }
    const reason = body.error ?? body.message ?? body.reason
    // A rate limit still refusing after every wait reads as words (refusal-text.ts).
    if (typeof reason === 'string') return refusalText(body.reason, reason, Number(response.headers.get('retry-after')) || null)
    if (reason && typeof reason === 'object' && 'message' in reason) return String((reason as { message: unknown }).message)
  } catch {
    // not JSON
  }
  return text.trim() || `${response.status} ${response.statusText}`
}

/** Appends events; resolves with the stream offset the server acknowledged them at. */
export async function writeEvents(
  target: WriteTarget,
  events: EventInput | EventInput[],
  fetchImpl: typeof fetch = (i, o) => fetch(i, o),
): Promise<{ offset: string }> {
  const origin = target.origin ?? globalThis.location.origin
  const url = new URL(STREAMS_MOUNT, origin)
  url.searchParams.set('sessionId', target.sessionId)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (target.token) headers.authorization = `Bearer ${target.token}`
  let lastError: WriteError | undefined
  let rateLimitWaits = 0
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    let response: Response
    try {
      response = await fetchImpl(url, { method: 'POST', headers, body: JSON.stringify(events) })
    } catch (err) {
      lastError = new WriteError(`could not reach the server (${err instanceof Error ? err.message : String(err)})`, 0)
      await new Promise((r) => setTimeout(r, retryDelayMs(attempt)))
      continue
    }
    if (response.ok) {
      const body = (await response.json()) as { ok?: boolean; offset?: unknown }
      if (typeof body.offset !== 'string') throw new WriteError('the server did not say where it stored the event', response.status)
      return { offset: body.offset }
    }
    const wait = response.status === 429 ? retryAfterMs(response) : null
    const reason = await reasonOf(response)
    if (response.status < 500 && response.status !== 429) throw new WriteError(reason, response.status)
    lastError = new WriteError(reason, response.status)
    if (wait !== null && rateLimitWaits < MAX_RATE_LIMIT_WAITS) {
      // Waiting out the server's window is the retry; it does not count as a failed attempt.
      rateLimitWaits += 1
      attempt -= 1
      await new Promise((r) => setTimeout(r, wait + Math.round(Math.random() * 100)))
      continue
    }
    await new Promise((r) => setTimeout(r, retryDelayMs(attempt)))
  }
  throw lastError ?? new WriteError('write failed', 0)
}

/**
 * Removes this person's presence as the page goes away. keepalive lets the request outlive the
 * page; failures do not matter (presence expires by itself after 30 s without a heartbeat).
 */
export function leaveSession(target: WriteTarget, userId: string): void {
  const origin = target.origin ?? globalThis.location.origin
  const url = new URL(STREAMS_MOUNT, origin)
  url.searchParams.set('sessionId', target.sessionId)
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (target.token) headers.authorization = `Bearer ${target.token}`
  void fetch(url, {
    method: 'POST',
    headers,
    keepalive: true,
    body: JSON.stringify({ channel: 'presence', operation: 'delete', data: { userId } }),
  }).catch(() => undefined)
}
