import { useEffect, useState, useSyncExternalStore, type ReactNode } from 'react'
import type { ConnectionStatus, ConnectionStatusStore } from '../../lib/sessions/client/connection-status'

const noop = () => () => undefined

/**
 * The applied offset read from the store itself: the page's status does not follow it (see
 * usePageConnectionStatus), so only this badge re-renders per applied batch.
 */
function useLiveOffset(store: ConnectionStatusStore | undefined, fallback: string | undefined): string | undefined {
  return useSyncExternalStore(
    store?.subscribe ?? noop,
    () => (store ? store.getSnapshot().offset : fallback),
    () => fallback,
  )
}

function useNow(active: boolean, everyMs = 250): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    if (!active) return
    const t = setInterval(() => setNow(Date.now()), everyMs)
    return () => clearInterval(t)
  }, [active, everyMs])
  return now
}

/** The badge's frame: the state as a labelled dot (pulsing while live or trying), then any extras. */
function ConnectionStateBadge({
  status,
  state,
  badge,
  pulse,
  title,
  children,
}: {
  status: ConnectionStatus
  state: 'ended' | ConnectionStatus['state']
  badge: string
  pulse?: boolean
  title?: string
  children?: ReactNode
}) {
  return (
    <span className="conn" data-testid="connection" data-offset={status.offset} data-state={state} title={title}>
      <span className={badge}>
        <span className={pulse ? 'dot dot-pulse' : 'dot'} />
        {` ${state}`}
      </span>
      {children}
    </span>
  )
}

function RetryNow({ onRetry }: { onRetry: () => void }) {
  return (
    <button type="button" className="btn btn-sm btn-ghost" onClick={onRetry}>
      Retry now
    </button>
  )
}

/** live / reconnecting (with a countdown to the next try) / offline, plus "retry now". */
export function ConnectionBadge({
  status: pageStatus,
  onRetry,
  store,
}: {
  status: ConnectionStatus
  onRetry?: () => void
  /** the connection's status store: the offset is read from it live */
  store?: ConnectionStatusStore
}) {
  const offset = useLiveOffset(store, pageStatus.offset)
  const status = offset === pageStatus.offset ? pageStatus : { ...pageStatus, offset }
  const now = useNow(status.state === 'reconnecting')
  if (status.ended) {
    return <ConnectionStateBadge status={status} state="ended" badge="badge" />
  }
  if (status.state === 'live') {
    return (
      <ConnectionStateBadge
        status={status}
        state="live"
        badge="badge badge-ok"
        pulse
        title={status.offset ? `at offset ${status.offset}` : undefined}
      />
    )
  }
  if (status.state === 'connecting') {
    return <ConnectionStateBadge status={status} state="connecting" badge="badge badge-info" pulse />
  }
  if (status.state === 'reconnecting') {
    const secs = status.nextRetryAt ? Math.max(0, Math.ceil((status.nextRetryAt - now) / 1000)) : 0
    return (
      <ConnectionStateBadge status={status} state="reconnecting" badge="badge badge-warn" pulse title={status.reason}>
        <span className="faint hide-mobile" data-testid="next-retry">
          {secs > 0 ? `next try in ${secs}s` : 'trying…'}
        </span>
        {onRetry ? <RetryNow onRetry={onRetry} /> : null}
      </ConnectionStateBadge>
    )
  }
  return (
    <ConnectionStateBadge status={status} state="offline" badge="badge badge-danger" title={status.reason}>
      {!status.fatal && onRetry ? <RetryNow onRetry={onRetry} /> : null}
    </ConnectionStateBadge>
  )
}
