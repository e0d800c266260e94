import { useEffect, useMemo, useState } from 'react'
import { SessionPeeker, type SessionPeek } from '../../lib/sessions/client/peek'

/** Who is in each listed session and what its agent does, refreshed every few seconds. */
export function useSessionPeeks(
  token: string | undefined,
  sessionIds: readonly string[],
  enabled: boolean,
  everyMs = 5000,
): Map<string, SessionPeek> {
  const peeker = useMemo(() => (typeof window === 'undefined' ? undefined : new SessionPeeker(token)), [token])
  const [peeks, setPeeks] = useState(() => new Map<string, SessionPeek>())
  const key = sessionIds.join(',')
  useEffect(() => {
    if (!enabled || !peeker) return
    let cancelled = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const round = async () => {
      // One at a time: a list of sessions must not take every connection the page has.
      for (const id of key ? key.split(',') : []) {
        if (cancelled) return
        try {
          const peek = await peeker.peek(id)
          if (!cancelled) setPeeks((prev) => new Map(prev).set(id, peek))
        } catch {
          // a session we cannot read (ended and removed, or not ours): nothing to show
        }
      }
      if (!cancelled) timer = setTimeout(() => void round(), everyMs)
    }
    void round()
    return () => {
      cancelled = true
      clearTimeout(timer)
    }
  }, [peeker, key, enabled, everyMs])
  return peeks
}
