import type { SessionRecord } from '../../lib/sessions/session-types'

const STATUS: Record<string, string> = {
  active: 'badge badge-ok',
  idle: 'badge badge-warn',
  completed: 'badge badge-info',
  failed: 'badge badge-danger',
  terminated: 'badge',
}

export function SessionStatusBadge({ status }: { status: SessionRecord['status'] }) {
  return (
    <span className={STATUS[status] ?? 'badge'} data-testid="session-status">
      {status === 'active' ? <span className="dot" /> : null}
      {status}
    </span>
  )
}

export function PatternBadge({ pattern }: { pattern: SessionRecord['pattern'] }) {
  return <span className="badge badge-accent">{pattern}</span>
}
