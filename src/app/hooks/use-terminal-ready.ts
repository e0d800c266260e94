import { useEffect, useState } from 'react'
import type { SessionConnection } from '../../lib/sessions/client/session-db'

/**
 * Whether the connection's collections hold a consistent state (`connection.ready`): for a page
 * opened from the server's view that is the view, committed before the live read has answered;
 * otherwise the stream read to its tail. The terminal page draws from then on, not from the
 * live read's up-to-date (`status.caughtUp`), which on a busy server came 100-200 ms later
 * (bench/scenarios/terminal-open.ts).
 */
export function useConnectionReady(connection: SessionConnection | undefined): boolean {
  const [ready, setReady] = useState<SessionConnection | undefined>(undefined)
  useEffect(() => {
    if (!connection) return
    let current = true
    connection.ready.then(
      () => current && setReady(connection),
      () => undefined,
    )
    return () => {
      current = false
    }
  }, [connection])
  return connection !== undefined && ready === connection
}
