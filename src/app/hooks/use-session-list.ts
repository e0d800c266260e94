import { useCallback, useEffect, useState } from 'react'
import { ApiError, getStats, listSessions, type SessionListQuery } from '../../lib/sessions/client/api'
import type { SessionRecord, SessionStats } from '../../lib/sessions/session-types'

/** The session list and totals, kept live by re-reading every few seconds (and on demand). */
export function useSessionList(token: string | undefined, query: SessionListQuery, enabled: boolean, everyMs = 3000) {
  const [state, setState] = useState<{ sessions?: SessionRecord[]; stats?: SessionStats; error?: ApiError; nextCursor?: string | null }>({})
  const [tick, setTick] = useState(0)
  const refresh = useCallback(() => setTick((t) => t + 1), [])
  const key = JSON.stringify(query)
  // biome-ignore lint/correctness/useExhaustiveDependencies: query by value (key); tick is the trigger for the next read
  useEffect(() => {
    if (!enabled) return
    let cancelled = false
    Promise.all([listSessions(token, query), getStats(token).catch(() => undefined)]).then(
      ([page, stats]) => !cancelled && setState({ sessions: page.sessions, nextCursor: page.nextCursor, stats }),
      (err: unknown) => !cancelled && setState((s) => ({ ...s, error: err instanceof ApiError ? err : new ApiError(String(err), 0) })),
    )
    const t = setTimeout(() => setTick((n) => n + 1), everyMs)
    return () => {
      cancelled = true
      clearTimeout(t)
    }
  }, [token, key, enabled, everyMs, tick])
  return { ...state, refresh }
}
