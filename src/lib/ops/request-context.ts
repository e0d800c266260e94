/**
 * Request ids (issue #12, "Logs and traces"). Every HTTP request the app answers runs inside an
 * AsyncLocalStorage context holding its id: the incoming `x-request-id` when well-formed, else a
 * fresh one. The server's pino logger reads it through `requestLogFields` (a pino `mixin`), so
 * every line logged while the request is handled carries `requestId`, whichever module logs it
 * and whatever logger it was handed (writer, session log and manager, streams layer, gateway):
 * no logger has to be threaded through per request. The id goes back in the `x-request-id`
 * response header.
 *
 * Work started during a request and finished later (a group commit flushed on the next tick, a
 * worker process spawned for a new session) keeps the id of the request that started it: its log
 * lines say which request caused them.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'

export const REQUEST_ID_HEADER = 'x-request-id'

export interface RequestContext {
  readonly requestId: string
}

const storage = new AsyncLocalStorage<RequestContext>()

/**
 * Visible ASCII without quotes or backslashes, 1-128 characters: safe to echo in a header and a
 * JSON log line as is. Anything else (too long, spaces, control characters) is replaced, never
 * trusted: a client must not be able to forge log lines through it.
 */
const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{1,128}$/

export function isWellFormedRequestId(value: string | null | undefined): value is string {
  return typeof value === 'string' && WELL_FORMED.test(value)
}

/**
 * A random prefix per process (so ids from two runs never collide) and a counter: unique, short
 * enough to read, and no random bytes to draw on every request (measured: bench/scenarios/tracing.ts).
 */
const PREFIX = randomBytes(6).toString('base64url')
let counter = 0

export function newRequestId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER
  return `${PREFIX}-${counter.toString(36)}`
}

export function requestIdFor(req: Request): string {
  const given = req.headers.get(REQUEST_ID_HEADER)
  return isWellFormedRequestId(given) ? given : newRequestId()
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId
}

const NONE: Record<string, never> = Object.freeze({}) as Record<string, never>

/** pino `mixin`: `{ requestId }` inside a request, nothing outside one. */
export function requestLogFields(): Record<string, string> {
  const ctx = storage.getStore()
  return ctx ? { requestId: ctx.requestId } : NONE
}

export function runWithRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn)
}

/** The response with `x-request-id` set (copied when its headers are immutable, e.g. proxied). */
export function withRequestIdHeader(res: Response, requestId: string): Response {
  try {
    res.headers.set(REQUEST_ID_HEADER, requestId)
    return res
  } catch {
    const headers = new Headers(res.headers)
    headers.set(REQUEST_ID_HEADER, requestId)
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers })
  }
}
