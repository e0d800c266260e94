/** Outbound side of a wake: the signed webhook POST and the pull-wake event append. */
import type { Logger } from '../../common/logger'
import type { StreamAccess } from '../seams'
import type { WebhookPoster } from './deliver'
import type { WebhookSigner } from './signing'

export interface WebhookSend {
  post: WebhookPoster
  signer: WebhookSigner
  now: () => number
  timeoutMs: number
  url: string
  payload: unknown
  /** Receives the abort handle while the request is in flight; the returned function unregisters it. */
  track: (abort: AbortController) => () => void
}

export type WebhookResult = { ok: true; done: boolean } | { ok: false; reason: string; detail?: unknown }

/** POSTs a signed wake. Only a 2xx counts as delivered; `{done:true}` in it completes the wake. */
export async function sendWebhook(s: WebhookSend): Promise<WebhookResult> {
  const body = JSON.stringify(s.payload)
  const abort = new AbortController()
  const timeout = setTimeout(() => abort.abort(new Error('webhook timed out')), s.timeoutMs)
  timeout.unref()
  const untrack = s.track(abort)
  try {
    const res = await s.post({
      url: s.url,
      body,
      headers: { 'content-type': 'application/json', 'webhook-signature': s.signer.signatureHeader(body, s.now()) },
      signal: abort.signal,
    })
    if (res.status < 200 || res.status > 299) return { ok: false, reason: `webhook answered ${res.status}` }
    return { ok: true, done: saysDone(res.body) }
  } catch (err) {
    return { ok: false, reason: 'webhook delivery failed', detail: err }
  } finally {
    clearTimeout(timeout)
    untrack()
  }
}

function saysDone(body: string): boolean {
  try {
    const parsed: unknown = JSON.parse(body)
    return typeof parsed === 'object' && parsed !== null && (parsed as { done?: unknown }).done === true
  } catch {
    return false
  }
}

/** Appends `{type:"wake", ...}` to a pull-wake subscription's wake stream (JSON mode). */
export async function appendWakeEvent(
  access: StreamAccess,
  log: Logger,
  event: { subscription_id: string; stream: string | null; generation: number; ts: number },
  wakeStream: string,
): Promise<void> {
  try {
    const target = await access.describe(wakeStream)
    if (!target || target.closed) {
      log.warn(
        `subscription ${event.subscription_id}: wake_stream ${wakeStream} is missing or closed; the wake is claimable but unannounced`,
      )
      return
    }
    const bytes = new TextEncoder().encode(JSON.stringify({ type: 'wake', ...event }))
    await access.append(wakeStream, bytes, target.contentType)
  } catch (err) {
    log.warn({ err }, `subscription ${event.subscription_id}: writing the wake event failed`)
  }
}
