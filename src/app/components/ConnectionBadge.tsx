import { useEffect, useState } from 'react'
import type { ConnectionStatus } from '../../lib/sessions/client/connection-status'

function useNow(active: boolean, everyMs = 250): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [active, everyMs])
  return now
}

/** live / reconnecting (with a countdown to the next try) / offline, plus "retry now". */
export function ConnectionBadge({ status, onRetry }: { status: ConnectionStatus; onRetry?: () => void }) {
  const now = useNow(status.state === 'reconnecting')
  if (status.ended) {
    return (
      <span className="conn" data-testid="connection" data-offset={status.offset} data-state="ended">
        <span className="badge">
          <span className="dot" /> ended
        </span>
      </span>
    )
  }
  if (status.state === 'live') {
    return (
      <span
        className="conn"
        data-testid="connection"
        data-offset={status.offset}
        data-state="live"
        title={status.offset ? `at offset ${status.offset}` : undefined}
      >
        <span className="badge badge-ok">
          <span className="dot dot-pulse" /> live
        </span>
      </span>
    )
  }
  if (status.state === 'connecting') {
    return (
      <span className="conn" data-testid="connection" data-offset={status.offset} data-state="connecting">
        <span className="badge badge-info">
          <span className="dot dot-pulse" /> connecting
        </span>
      </span>
    )
  }
  if (status.state === 'reconnecting') {
    const secs = status.nextRetryAt ? Math.max(0, Math.ceil((status.nextRetryAt - now) / 1000)) : 0
    return (
      <span className="conn" data-testid="connection" data-offset={status.offset} data-state="reconnecting" title={status.reason}>
        <span className="badge badge-warn">
          <span className="dot dot-pulse" /> reconnecting
        </span>
        <span className="faint hide-mobile" data-testid="next-retry">
          {secs > 0 ? `next try in ${secs}s` : 'trying…'}
        </span>
        {onRetry ? (
          <button type="button" className="btn btn-sm btn-ghost" onClick={onRetry}>
            Retry now
          </button>
        ) : null}
      </span>
    )
  }
  return (
    <span className="conn" data-testid="connection" data-offset={status.offset} data-state="offline" title={status.reason}>
      <span className="badge badge-danger">
        <span className="dot" /> offline
      </span>
      {!status.fatal && onRetry ? (
        <button type="button" className="btn btn-sm btn-ghost" onClick={onRetry}>
          Retry now
        </button>
      ) : null}
    </span>
  )
}
