import { useCallback, useEffect, useState } from 'react'
import { ApiError, getSession } from '../../lib/sessions/client/api'
import type { SessionRecord } from '../../lib/sessions/session-types'

/** The session's record (title, pattern, status, limits, usage), refreshed every few seconds. */
export function useSessionRecord(
  sessionId: string,
  token: string | undefined,
  enabled: boolean,
  everyMs = 5000,
): { session?: SessionRecord; error?: ApiError; refresh: () => void } {
  const [state, setState] = useState<{ session?: SessionRecord; error?: ApiError }>({})
  const [tick, setTick] = useState(0)
  const refresh = useCallback(() => setTick((t) => t + 1), [])
  // biome-ignore lint/correctness/useExhaustiveDependencies: tick is the trigger for the next read
  useEffect(() => {
    if (!enabled) return
    let cancelled = false
    getSession(token, sessionId).then(
      (session) => !cancelled && setState({ session }),
      (err: unknown) =>
        !cancelled && setState((s) => ({ session: s.session, error: err instanceof ApiError ? err : new ApiError(String(err), 0) })),
    )
    const t = setTimeout(() => setTick((n) => n + 1), everyMs)
    return () => {
      cancelled = true
      clearTimeout(t)
    }
  }, [sessionId, token, enabled, everyMs, tick])
  return { ...state, refresh }
}
