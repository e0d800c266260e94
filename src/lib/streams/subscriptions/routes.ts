/** HTTP adapter for the reserved `__ds/...` namespace: Request in, Response out. */
import { readBody } from '../body'
import type { StreamAccess } from '../seams'
import { checkSubscriptionId, configHash, parseClaim, parseCreate, parseStreams, parseWake } from './subscription-config'
import type { SubscriptionEngine } from './engine'
import { checkStreamPath } from './paths'
import type { WebhookSigner } from './signing'
import { fail, linkType, type Outcome, type Subscription } from './types'
import { checkWebhookUrl } from './webhook-url'

const MAX_BODY_BYTES = 1024 * 1024
const ACTIONS = new Set(['callback', 'claim', 'ack', 'release'])

export interface RouteDeps {
  engine: SubscriptionEngine
  signer: WebhookSigner
  access: StreamAccess
  allowLoopbackWebhooks: boolean
}

type Route =
  | { kind: 'jwks' }
  | { kind: 'subscription'; id: string }
  | { kind: 'streams'; id: string }
  | { kind: 'stream'; id: string; path: string }
  | { kind: 'action'; id: string; action: string }

export function subscriptionRoutes(deps: RouteDeps) {
  return async function handle(req: Request, subPath: string, streamUrl: (path: string) => string): Promise<Response> {
    const route = parseRoute(subPath)
    if ('error' in route) return respond(route.error)
    try {
      return respond(await dispatch(deps, route, req, streamUrl))
    } catch (err) {
      if (err instanceof BodyError) return respond(err.outcome)
      throw err
    }
  }
}

function parseRoute(subPath: string): Route | { error: Outcome } {
  const parts = subPath.split('?')[0].replace(/^\/+/, '').split('/')
  if (parts.length === 1 && parts[0] === 'jwks.json') return { kind: 'jwks' }
  if (parts[0] !== 'subscriptions' || parts.length < 2 || parts[1] === '') {
    return { error: fail(404, 'NOT_FOUND', `no Durable Streams control route __ds/${subPath}`) }
  }
  const id = safeDecode(parts[1])
  const badId = id === null ? 'subscription id is not valid percent-encoding' : checkSubscriptionId(id)
  if (badId !== null || id === null) return { error: fail(400, 'INVALID_REQUEST', badId ?? 'bad id') }
  const rest = parts.slice(2)
  if (rest.length === 0) return { kind: 'subscription', id }
  if (rest[0] === 'streams' && rest.length === 1) return { kind: 'streams', id }
  if (rest[0] === 'streams') {
    // `:path` arrives percent-encoded (`events%2Fx`) or, if the host decoded it, with slashes.
    const decoded = safeDecode(rest.slice(1).join('/'))
    const checked = decoded === null ? { error: 'stream path is not valid percent-encoding' } : checkStreamPath(decoded)
    if ('error' in checked) return { error: fail(400, 'INVALID_REQUEST', checked.error) }
    return { kind: 'stream', id, path: checked.path }
  }
  if (rest.length === 1 && ACTIONS.has(rest[0])) return { kind: 'action', id, action: rest[0] }
  return { error: fail(404, 'NOT_FOUND', `no Durable Streams control route __ds/${subPath}`) }
}

async function dispatch(deps: RouteDeps, route: Route, req: Request, streamUrl: (p: string) => string): Promise<Outcome | Response> {
  const { engine, signer } = deps
  const method = req.method.toUpperCase()
  switch (route.kind) {
    case 'jwks':
      if (method !== 'GET' && method !== 'HEAD') return notAllowed('GET, HEAD')
      return new Response(method === 'HEAD' ? null : JSON.stringify(signer.jwks()), {
        status: 200,
        headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' },
      })
    case 'subscription': {
      const view = (sub: Subscription) => subscriptionView(sub, signer.kid, streamUrl('__ds/jwks.json'))
      if (method === 'GET') {
        const sub = await engine.get(route.id)
        return sub ? { status: 200, body: view(sub) } : fail(404, 'SUBSCRIPTION_NOT_FOUND', 'subscription not found')
      }
      if (method === 'DELETE') {
        await engine.remove(route.id)
        return { status: 204 }
      }
      if (method !== 'PUT') return notAllowed('GET, PUT, DELETE')
      const parsed = parseCreate(await readJson(req))
      if (!parsed.ok) return fail(400, 'INVALID_REQUEST', parsed.reason)
      const config = parsed.value
      if (!(await engine.get(route.id))) {
        const rejected = await checkDelivery(deps, config.webhookUrl, config.wakeStream)
        if (rejected) return rejected
      }
      const result = await engine.put(route.id, config, configHash(config), {
        callbackUrl: streamUrl(`__ds/subscriptions/${route.id}/callback`),
        jwksUrl: streamUrl('__ds/jwks.json'),
      })
      if ('conflict' in result) {
        return fail(409, 'SUBSCRIPTION_ALREADY_EXISTS', 'a subscription with this id exists with a different configuration')
      }
      return { status: result.created ? 201 : 200, body: view(result.sub) }
    }
    case 'streams': {
      if (method !== 'POST') return notAllowed('POST')
      const parsed = parseStreams(await readJson(req))
      if (!parsed.ok) return fail(400, 'INVALID_REQUEST', parsed.reason)
      return engine.addStreams(route.id, parsed.value)
    }
    case 'stream':
      if (method !== 'DELETE') return notAllowed('DELETE')
      return engine.removeStream(route.id, route.path)
    case 'action': {
      if (method !== 'POST') return notAllowed('POST')
      const body = await readJson(req)
      if (route.action === 'claim') {
        const parsed = parseClaim(body)
        return parsed.ok ? engine.claim(route.id, parsed.value.worker) : fail(400, 'INVALID_REQUEST', parsed.reason)
      }
      const parsed = parseWake(body)
      if (!parsed.ok) return fail(400, 'INVALID_REQUEST', parsed.reason)
      const token = bearer(req)
      if (route.action === 'callback') return engine.ack(route.id, 'webhook', token, parsed.value)
      if (route.action === 'ack') return engine.ack(route.id, 'pull-wake', token, parsed.value)
      return engine.release(route.id, token, parsed.value)
    }
  }
}

async function checkDelivery(deps: RouteDeps, webhookUrl: string | null, wakeStream: string | null): Promise<Outcome | null> {
  if (webhookUrl !== null) {
    const checked = checkWebhookUrl(webhookUrl, { allowLoopback: deps.allowLoopbackWebhooks })
    if (!checked.ok) return fail(400, 'WEBHOOK_URL_REJECTED', checked.reason)
  }
  if (wakeStream !== null) {
    const target = await deps.access.describe(wakeStream)
    if (!target) return fail(400, 'INVALID_REQUEST', `wake_stream ${wakeStream} does not exist; create it first`)
    if (!/^application\/json\s*(;|$)/i.test(target.contentType)) {
      return fail(400, 'INVALID_REQUEST', `wake_stream ${wakeStream} must be an application/json stream`)
    }
  }
  return null
}

function subscriptionView(sub: Subscription, kid: string, jwksUrl: string) {
  const c = sub.config
  return {
    id: sub.id,
    subscription_id: sub.id,
    type: c.type,
    pattern: c.pattern,
    streams: [...sub.links.values()]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((l) => ({ path: l.path, link_type: linkType(l), acked_offset: l.ackedOffset })),
    webhook: c.webhookUrl === null ? null : { url: c.webhookUrl, signing: { alg: 'ed25519', kid, jwks_url: jwksUrl } },
    wake_stream: c.wakeStream,
    lease_ttl_ms: c.leaseTtlMs,
    created_at: sub.createdAt,
    status: sub.status,
    description: c.description,
    ...(sub.nextAttemptAt !== null ? { next_attempt_at: new Date(sub.nextAttemptAt).toISOString() } : {}),
  }
}

class BodyError extends Error {
  constructor(readonly outcome: Outcome) {
    super('bad body')
  }
}

async function readJson(req: Request): Promise<unknown> {
  const tooLargeError = () => new BodyError(fail(413, 'PAYLOAD_TOO_LARGE', `body over ${MAX_BODY_BYTES} bytes`))
  const text = new TextDecoder().decode(await readBody(req, MAX_BODY_BYTES, tooLargeError))
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    throw new BodyError(fail(400, 'INVALID_REQUEST', 'request body is not valid JSON'))
  }
}

function bearer(req: Request): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get('authorization') ?? '')
  return m ? m[1] : null
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s)
  } catch {
    return null
  }
}

function notAllowed(allow: string): Response {
  return Response.json(
    { error: { code: 'METHOD_NOT_ALLOWED', message: `use ${allow}` } },
    { status: 405, headers: { allow, 'cache-control': 'no-store' } },
  )
}

function respond(o: Outcome | Response): Response {
  if (o instanceof Response) return o
  const headers = { 'cache-control': 'no-store' }
  if ('error' in o) return Response.json({ error: o.error }, { status: o.status, headers })
  if ('body' in o) return Response.json(o.body, { status: o.status, headers })
  return new Response(null, { status: o.status, headers })
}
