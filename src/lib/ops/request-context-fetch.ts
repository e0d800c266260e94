/**
 * Wraps the app's fetch handler: each request runs with its request id (request-context.ts) and,
 * while traces are on, inside an `HTTP <method> <route class>` server span (tracing.ts). The
 * response carries `x-request-id`. Off, the cost is one AsyncLocalStorage.run and one header.
 */
import { requestIdFor, runWithRequestId, withRequestIdHeader } from './request-context'
import { inRequestSpan, tracingOn } from './tracing'

/**
 * Low-cardinality route class for span names: the first two path segments, with the writer
 * (`/api/streams`) and the streams below it kept apart. Ids never enter a span name.
 */
export function routeClass(pathname: string): string {
  const parts = pathname.split('/').filter(Boolean)
  if (parts[0] === 'api' && parts[1] === 'streams') return parts.length > 2 ? '/api/streams/*' : '/api/streams'
  if (parts[0] === 'api' && parts[1] === 'sessions') return parts.length > 2 ? '/api/sessions/*' : '/api/sessions'
  if (parts[0] === 'v1' && parts[1] === 'stream') return '/v1/stream/*'
  if (parts[0] === 'api' && parts[1]) return `/api/${parts[1]}`
  return '/*'
}

export function withRequestContext(handler: (req: Request) => Promise<Response>): (req: Request) => Promise<Response> {
  return (req) => {
    const requestId = requestIdFor(req)
    // Traces off: no async wrapper of our own, one `then` for the header.
    if (!tracingOn()) return runWithRequestId(requestId, () => handler(req)).then((res) => withRequestIdHeader(res, requestId))
    return runWithRequestId(requestId, async () => {
      const url = new URL(req.url)
      const route = routeClass(url.pathname)
      const attributes = {
        'http.request.method': req.method,
        'http.route': route,
        'tether.request_id': requestId,
        // Which session, never what it says: the id is not a secret (it is in every URL).
        'tether.session_id': url.searchParams.get('sessionId') ?? sessionIdOf(url.pathname),
      }
      return withRequestIdHeader(await inRequestSpan(`HTTP ${req.method} ${route}`, attributes, () => handler(req)), requestId)
    })
  }
}

/** `/api/sessions/<id>/…` and `…/sessions/<id>` stream paths name a session. */
function sessionIdOf(pathname: string): string | undefined {
  const m = /\/sessions\/([^/?]+)/.exec(pathname)
  return m ? decodeURIComponent(m[1]!) : undefined
}
