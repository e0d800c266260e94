/**
 * Lifecycle webhook endpoints, admin only (specs/operations.md, Lifecycle webhooks):
 *   POST   /api/webhooks                    {url, events?, description?} → 201 {webhook, signing}
 *   GET    /api/webhooks                    {webhooks, signing}
 *   GET    /api/webhooks/:id                {webhook}
 *   DELETE /api/webhooks/:id                204
 *   GET    /api/webhooks/:id/deliveries     {deliveries} (newest first, ?limit ≤ 500)
 *   POST   /api/webhooks/:id/deliveries/:eventId/replay   one attempt now → {delivery}
 *   GET    /api/webhooks/jwks.json          public keys that verify the signatures (public)
 * Changes are audited (webhook.create, webhook.delete, webhook.replay).
 */
import { z } from 'zod'
import { requireAdmin, type Authenticator } from '../sessions/auth'
import { HttpError, errorResponse, isAnswerable, json, parseWith, readJsonBody } from '../sessions/http'
import { streamUrl, type StreamsEndpoint } from '../sessions/streams-client'
import type { TokenClaims } from '../sessions/tokens'
import { checkWebhookUrl } from '../streams/subscriptions/webhook-url'
import type { WebhookSigner } from '../streams/subscriptions/signing'
import type { AuditLog } from './audit'
import { LIFECYCLE_EVENT_TYPES, LIFECYCLE_STREAM, type LifecycleLog } from './lifecycle'
import type { WebhookDispatcher } from './webhooks-delivery'
import type { WebhookEndpoint, WebhookStore } from './webhooks-store'

export const WEBHOOKS_PATH = '/api/webhooks'
export const WEBHOOKS_JWKS_PATH = `${WEBHOOKS_PATH}/jwks.json`

const createSchema = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum(LIFECYCLE_EVENT_TYPES)).max(LIFECYCLE_EVENT_TYPES.length).optional(),
    description: z.string().max(500).optional(),
  })
  .strict()

export interface WebhooksApiOptions {
  auth: Authenticator
  store: WebhookStore
  dispatcher: WebhookDispatcher
  lifecycle: LifecycleLog
  streams: StreamsEndpoint
  signer: WebhookSigner
  audit: AuditLog
  allowLoopback: boolean
}

export function createWebhooksApi(opts: WebhooksApiOptions): (req: Request) => Promise<Response> {
  const { store, audit } = opts
  const signing = () => ({ alg: 'ed25519', kid: opts.signer.kid, jwksUrl: WEBHOOKS_JWKS_PATH })
  const actor = (c: TokenClaims) => ({ sub: c.sub ?? null, role: c.role })

  /** Where a new endpoint starts: the lifecycle stream's tail (history is not replayed to it). */
  async function tail(): Promise<string> {
    await opts.lifecycle.start()
    const res = await opts.streams.transport(new Request(streamUrl(opts.streams, LIFECYCLE_STREAM), { method: 'HEAD' }))
    const offset = res.headers.get('stream-next-offset')
    if (!res.ok || !offset) throw new Error(`lifecycle stream HEAD answered ${res.status}`)
    return offset
  }

  async function route(req: Request, segments: string[]): Promise<Response> {
    const method = req.method
    const notAllowed = (allow: string) => new HttpError(405, `method ${method} not allowed`, undefined, { allow })
    const claims = await opts.auth.authenticate(req)
    requireAdmin(claims)
    if (segments.length === 0) {
      if (method === 'GET') return json({ webhooks: (await store.list()).map(view), signing: signing() })
      if (method !== 'POST') throw notAllowed('GET, POST')
      const input = parseWith(createSchema, (await readJsonBody(req, 16 * 1024)) ?? {})
      const checked = checkWebhookUrl(input.url, { allowLoopback: opts.allowLoopback })
      if (!checked.ok) throw new HttpError(400, checked.reason, 'url')
      const webhook = await store.insert({
        url: checked.url.toString(),
        events: [...new Set(input.events ?? [])],
        description: input.description ?? null,
        createdBy: claims.sub ?? null,
        cursorOffset: await tail(),
      })
      opts.dispatcher.added(webhook.id)
      await audit.record({ actor: actor(claims), action: 'webhook.create', target: webhook.id, outcome: 'ok', status: 201, detail: { url: webhook.url, events: webhook.events } })
      return json({ webhook: view(webhook), signing: signing() }, 201, { location: `${WEBHOOKS_PATH}/${webhook.id}` })
    }
    const id = segments[0]
    const webhook = await store.get(id)
    if (!webhook) throw new HttpError(404, `unknown webhook ${id}`, 'id')
    if (segments.length === 1) {
      if (method === 'GET') return json({ webhook: view(webhook) })
      if (method !== 'DELETE') throw notAllowed('GET, DELETE')
      opts.dispatcher.removed(id)
      await store.remove(id)
      await audit.record({ actor: actor(claims), action: 'webhook.delete', target: id, outcome: 'ok', status: 204, detail: { url: webhook.url } })
      return new Response(null, { status: 204 })
    }
    if (segments[1] !== 'deliveries') throw new HttpError(404, 'no such webhooks endpoint')
    if (segments.length === 2) {
      if (method !== 'GET') throw notAllowed('GET')
      const raw = new URL(req.url).searchParams.get('limit') ?? '100'
      const limit = Number(raw)
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, 'limit must be an integer from 1 to 500', 'query.limit')
      return json({ deliveries: await store.deliveries(id, limit) })
    }
    if (segments.length === 4 && segments[3] === 'replay') {
      if (method !== 'POST') throw notAllowed('POST')
      const delivery = await opts.dispatcher.replay(id, segments[2])
      if (!delivery) throw new HttpError(404, `no lifecycle event ${segments[2]}`, 'eventId')
      await audit.record({ actor: actor(claims), action: 'webhook.replay', target: id, outcome: 'ok', status: 200, detail: { eventId: delivery.eventId, delivered: delivery.outcome === 'delivered' } })
      return json({ delivery })
    }
    throw new HttpError(404, 'no such webhooks endpoint')
  }

  return async (req) => {
    try {
      const url = new URL(req.url)
      if (url.pathname === WEBHOOKS_JWKS_PATH) {
        if (req.method !== 'GET') throw new HttpError(405, 'use GET', undefined, { allow: 'GET' })
        return json(opts.signer.jwks(), 200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' })
      }
      const segments = url.pathname
        .slice(WEBHOOKS_PATH.length)
        .split('/')
        .filter(Boolean)
        .map((s) => {
          try {
            return decodeURIComponent(s)
          } catch {
            throw new HttpError(400, 'path is not valid percent-encoding', 'path')
          }
        })
      return await route(req, segments)
    } catch (err) {
      if (isAnswerable(err)) return errorResponse(err)
      throw err
    }
  }
}

function view(w: WebhookEndpoint) {
  return { id: w.id, url: w.url, events: w.events, description: w.description, createdAt: w.createdAt, createdBy: w.createdBy }
}
