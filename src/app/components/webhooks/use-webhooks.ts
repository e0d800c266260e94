/**
 * The endpoints and each one's recent delivery attempts, fetched again every `refreshMs` (the
 * delivery log is in SQLite, not a stream; a poll of a few indexed reads every few seconds is
 * cheap for the handful of endpoints an operator registers). The last good answer stays on screen
 * while a refresh fails.
 */
import { useCallback, useEffect, useState } from 'react'
import { listDeliveries, listWebhooks, WebhooksApiError, type Delivery, type SigningInfo, type WebhookView } from './api'

export const DELIVERIES_SHOWN = 20

export interface WebhooksState {
  webhooks?: WebhookView[]
  signing?: SigningInfo
  deliveries: Record<string, Delivery[]>
  error?: { status: number; message: string }
}

export function useWebhooks(
  token: string | undefined,
  opts: { enabled: boolean; refreshMs: number },
): WebhooksState & { refresh: () => void } {
  const [state, setState] = useState<WebhooksState>({ deliveries: {} })
  const [tick, setTick] = useState(0)
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick asks for a fetch now
  useEffect(() => {
    if (!opts.enabled) return
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      try {
        const { webhooks, signing } = await listWebhooks(token)
        const lists = await Promise.all(
          webhooks.map((w) => listDeliveries(token, w.id, DELIVERIES_SHOWN).then((r) => [w.id, r.deliveries] as const)),
        )
        if (!cancelled) setState({ webhooks, signing, deliveries: Object.fromEntries(lists) })
      } catch (err) {
        const status = err instanceof WebhooksApiError ? err.status : 0
        const message = err instanceof Error ? err.message : String(err)
        if (!cancelled) setState((prev) => ({ ...prev, error: { status, message } }))
        // A refused token will not start working by itself: stop polling.
        if (status === 401 || status === 403) return
      }
      if (!cancelled) timer = setTimeout(load, opts.refreshMs)
    }
    void load()
    return () => {
      cancelled = true
      if (timer) clearTimeout(timer)
    }
  }, [token, opts.enabled, opts.refreshMs, tick])
  const refresh = useCallback(() => setTick((n) => n + 1), [])
  return { ...state, refresh }
}
