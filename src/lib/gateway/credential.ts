/**
 * Anthropic clients (Claude Code, the SDKs) send their key as `x-api-key`; Tether's tokens travel
 * as `Authorization: Bearer`. For the model gateway's paths only, a worker token sent as
 * `x-api-key` is read as the bearer token (specs/gateway.md, "Native wire endpoints"): the view
 * returned is for authentication alone (headers, no body); the route still reads the request.
 */
export function gatewayCredentialView(req: Request): Request {
  const key = req.headers.get('x-api-key')
  if (!key || req.headers.has('authorization')) return req
  const headers = new Headers(req.headers)
  headers.set('authorization', `Bearer ${key.trim()}`)
  return new Request(req.url, { method: 'GET', headers })
}
