/**
 * The admin page's client for `/api/webhooks` (src/lib/ops/webhooks-api.ts). Types come from the
 * server modules as types only, so nothing of the server (node:crypto, SQLite) reaches the browser.
 */
import { authHeaders } from '../../../lib/sessions/client/auth'
import type { LifecycleEventType } from '../../../lib/ops/lifecycle'
import type { Delivery, WebhookEndpoint } from '../../../lib/ops/webhooks-store'

/**
 * The event types an endpoint may filter on. A copy of LIFECYCLE_EVENT_TYPES (lifecycle.ts imports
 * node:crypto at run time); the two checks below fail the type-check when the lists drift apart.
 */
export const EVENT_TYPES = [
  'session.created',
  'session.idle',
  'session.resumed',
  'session.ended',
  'worker.crashed',
  'quota.exceeded',
] as const satisfies readonly LifecycleEventType[]
type Unlisted = Exclude<LifecycleEventType, (typeof EVENT_TYPES)[number]>
export const EVENT_TYPES_COMPLETE: [Unlisted] extends [never] ? true : never = true

export type WebhookView = Omit<WebhookEndpoint, 'cursorOffset' | 'cursorSkip'>
export type { Delivery }
export interface SigningInfo {
  alg: string
  kid: string
  jwksUrl: string
}

export const WEBHOOKS_API = '/api/webhooks'

/** An API refusal with its status and, when the API names one, the field at fault. */
export class WebhooksApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field?: string,
  ) {
    super(message)
  }
}

async function call<T>(token: string | undefined, path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${WEBHOOKS_API}${path}`, {
    ...init,
    headers: { ...authHeaders(token), ...(init.body ? { 'content-type': 'application/json' } : {}) },
  })
  if (res.status === 204) return undefined as T
  const body = (await res.json().catch(() => undefined)) as { error?: string; field?: string } | undefined
  if (!res.ok) throw new WebhooksApiError(body?.error ?? `request failed (${res.status})`, res.status, body?.field)
  return body as T
}

export const listWebhooks = (token: string | undefined) => call<{ webhooks: WebhookView[]; signing: SigningInfo }>(token, '')

export const listDeliveries = (token: string | undefined, id: string, limit: number) =>
  call<{ deliveries: Delivery[] }>(token, `/${encodeURIComponent(id)}/deliveries?limit=${limit}`)

export const createWebhook = (token: string | undefined, input: { url: string; events: LifecycleEventType[]; description?: string }) =>
  call<{ webhook: WebhookView; signing: SigningInfo }>(token, '', { method: 'POST', body: JSON.stringify(input) })

export const deleteWebhook = (token: string | undefined, id: string) =>
  call<void>(token, `/${encodeURIComponent(id)}`, { method: 'DELETE' })

export const replayDelivery = (token: string | undefined, id: string, eventId: string) =>
  call<{ delivery: Delivery }>(token, `/${encodeURIComponent(id)}/deliveries/${encodeURIComponent(eventId)}/replay`, { method: 'POST' })
