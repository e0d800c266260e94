import type { ConnectionStatus } from '../../lib/sessions/client/connection-status'
import type { SessionRecord } from '../../lib/sessions/session-types'
import { ForkLineage } from './ForkAction'

/** Under the header: a fork's lineage (ForkAction.tsx), then one line when something needs saying. */
export function SessionBanner(props: Parameters<typeof StateBanner>[0]) {
  const from = props.session?.forkedFrom
  const banner = <StateBanner {...props} />
  return from ? (
    <>
      <ForkLineage from={from} />
      {banner}
    </>
  ) : (
    banner
  )
}

/** One line when something needs saying: ended, offline, view-only. */
function StateBanner({
  status,
  session,
  canWrite,
  onRetry,
}: {
  status: ConnectionStatus
  session?: SessionRecord
  canWrite: boolean
  onRetry: () => void
}) {
  if (status.ended || (session && !['active', 'idle'].includes(session.status))) {
    return (
      <div className="banner banner-info" role="status" data-testid="banner-ended">
        This session has ended{session?.endReason ? ` (${session.endReason})` : ''}. Everything that happened in it stays readable here.
      </div>
    )
  }
  if (status.state === 'offline') {
    return (
      <div className="banner banner-danger" role="alert" data-testid="banner-offline">
        {status.fatal
          ? `Can’t read this session: ${status.reason ?? 'refused'}`
          : `You’re offline. Changes will sync when the connection is back.`}
        {!status.fatal ? (
          <button type="button" className="btn btn-sm" onClick={onRetry}>
            Retry now
          </button>
        ) : null}
      </div>
    )
  }
  if (!canWrite) {
    return (
      <div className="banner banner-info" role="status">
        You’re viewing this session read-only.
      </div>
    )
  }
  return null
}
