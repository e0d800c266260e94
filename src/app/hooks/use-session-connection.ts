import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react'
import { acquireSessionConnection, type SessionConnection } from '../../lib/sessions/client/session-db'
import type { ConnectionStatus } from '../../lib/sessions/client/connection-status'

/** The page's shared connection to a session (undefined while opening and during SSR). */
export function useSessionConnection(
  sessionId: string,
  token: string | undefined,
  enabled = true,
): { connection?: SessionConnection; error?: string } {
  const [state, setState] = useState<{ connection?: SessionConnection; error?: string }>({})
  useEffect(() => {
    if (!enabled) return
    let cancelled = false
    const { connection, release } = acquireSessionConnection({ sessionId, token })
    connection.then(
      (c) => !cancelled && setState({ connection: c }),
      (err: unknown) => !cancelled && setState({ error: err instanceof Error ? err.message : String(err) }),
    )
    return () => {
      cancelled = true
      setState({})
      release()
    }
  }, [sessionId, token, enabled])
  return state
}

const CONNECTING: ConnectionStatus = { state: 'connecting', attempt: 0, caughtUp: false }
const noop = () => () => undefined

/**
 * The status without following `offset`: the same object while only the applied offset moves.
 * A session page renders from this, so a streamed token (one applied batch each) does not
 * re-render the whole page; the connection badge reads the offset from the store itself.
 */
export function usePageConnectionStatus(connection: SessionConnection | undefined): ConnectionStatus {
  const last = useRef<ConnectionStatus>(CONNECTING)
  const getSnapshot = useCallback(() => {
    const next = connection ? connection.status.getSnapshot() : CONNECTING
    const prev = last.current
    const same =
      prev.state === next.state &&
      prev.caughtUp === next.caughtUp &&
      prev.ended === next.ended &&
      prev.fatal === next.fatal &&
      prev.reason === next.reason &&
      prev.attempt === next.attempt &&
      prev.nextRetryAt === next.nextRetryAt
    if (!same) last.current = next
    return last.current
  }, [connection])
  return useSyncExternalStore(connection?.status.subscribe ?? noop, getSnapshot, () => CONNECTING)
}

/** live / reconnecting (with next retry time) / offline, re-rendering on every change. */
export function useConnectionStatus(connection: SessionConnection | undefined): ConnectionStatus {
  return useSyncExternalStore(connection?.status.subscribe ?? noop, connection?.status.getSnapshot ?? (() => CONNECTING), () => CONNECTING)
}
