/**
 * The admin dashboard's data: `GET /api/sessions/stats/summary` for a range ending now, fetched
 * again every `refreshMs` (live without a stream: the figures are aggregates, and a poll every few
 * seconds costs a handful of indexed queries). The last good answer stays on screen while a
 * refresh fails; the error is shown beside it.
 */
import { useEffect, useState } from 'react'
import { authHeaders } from '../../lib/sessions/client/auth'
import { SESSIONS_MOUNT } from '../../lib/common/session-contract'
import type { StatsBucket, StatsSummary } from '../../lib/ops/stats-summary-types'

export interface StatsState {
  summary?: StatsSummary
  error?: { status: number; message: string }
  loading: boolean
}

export async function fetchStatsSummary(token: string | undefined, q: { from: number; to: number; bucket: StatsBucket }): Promise<StatsSummary> {
  const qs = new URLSearchParams({ from: String(q.from), to: String(q.to), bucket: q.bucket })
  const res = await fetch(`${SESSIONS_MOUNT}/stats/summary?${qs}`, { headers: authHeaders(token) })
  const body = (await res.json().catch(() => undefined)) as { error?: string } | undefined
  if (!res.ok) throw Object.assign(new Error(body?.error ?? `request failed (${res.status})`), { status: res.status })
  return body as StatsSummary
}

export function useStatsSummary(
  token: string | undefined,
  range: { spanMs: number; bucket: StatsBucket },
  opts: { enabled: boolean; refreshMs: number },
): StatsState & { refresh: () => void } {
  const [state, setState] = useState<StatsState>({ loading: true })
  const [tick, setTick] = useState(0)
  const { spanMs, bucket } = range
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick asks for a fetch now
  useEffect(() => {
    if (!opts.enabled) return
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const load = async () => {
      const to = Date.now()
      try {
        const summary = await fetchStatsSummary(token, { from: to - spanMs, to, bucket })
        if (!cancelled) setState({ summary, loading: false })
      } catch (err) {
        const status = (err as { status?: number }).status ?? 0
        const message = err instanceof Error ? err.message : String(err)
        if (!cancelled) setState((prev) => ({ summary: prev.summary, error: { status, message }, loading: false }))
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
  }, [token, spanMs, bucket, opts.enabled, opts.refreshMs, tick])
  return { ...state, refresh: () => setTick((n) => n + 1) }
}
