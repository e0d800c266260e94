/**
 * A client that drops its connection mid-request (a closed tab, a lost network, a long-poll or
 * SSE reader going away) is an ordinary event, not a server failure. srvx aborts the request's
 * signal with Node's `Error: aborted` (code ECONNRESET); TanStack Start then throws that reason
 * out of its middleware pipeline and logs every thrown error that carries no HTTP status, as a
 * raw stack on stderr. Giving the reason the status 499 ("client closed request", the nginx
 * convention) makes Start treat it as an HTTP outcome and stay quiet; errors thrown by handlers
 * are untouched and still logged.
 */
export const CLIENT_CLOSED_STATUS = 499

function markReason(reason: unknown): void {
  if (typeof reason !== 'object' || reason === null) return
  try {
    // Why the property write: Start reads `status` off the thrown value; the reason is the
    // object it will throw (an Error or a DOMException, both extensible).
    Object.defineProperty(reason, 'status', { value: CLIENT_CLOSED_STATUS, configurable: true })
  } catch {
    // A frozen reason: Start logs it, nothing else changes.
  }
}

/** Marks `req`'s abort reason (now, or when the client goes) as a client disconnect. */
export function markClientDisconnects(req: Request): Request {
  const signal = req.signal
  if (signal.aborted) markReason(signal.reason)
  else signal.addEventListener('abort', () => markReason(signal.reason), { once: true })
  return req
}
