/**
 * The worker's half of request ids (issue #12, specs/operations.md "Logs and traces"). While a
 * turn runs, every call the worker makes to the server (model gateway steps, stream appends)
 * carries `x-request-id: turn:<messageId>`, the turn record's own id. The server logs
 * `turn accepted` with the request id of the request that posted the message and that turn id,
 * so one grep leads from the user's request to everything the worker did for it. Between turns
 * (heartbeats, terminal output) no id is sent and the server makes one per request.
 */
const WELL_FORMED = /^[A-Za-z0-9._:@/+=-]{1,128}$/

let current: string | undefined

/** The turn being worked on (its user message id), or undefined between turns. */
export function setTurnRequestId(messageId: string | undefined): void {
  const id = messageId === undefined ? undefined : `turn:${messageId}`
  // An id the server would refuse is not sent at all (it would make its own anyway).
  current = id !== undefined && WELL_FORMED.test(id) ? id : undefined
}

export function turnRequestId(): string | undefined {
  return current
}

/** `fetchImpl` that adds the current turn's x-request-id (unless the caller set one). */
export function withTurnRequestId(fetchImpl: typeof fetch): typeof fetch {
  return (input, init) => {
    const id = current
    if (id === undefined) return fetchImpl(input, init)
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined))
    if (!headers.has('x-request-id')) headers.set('x-request-id', id)
    return fetchImpl(input, { ...init, headers })
  }
}
