/**
 * The agent panel's line under "Time left": what the session's limits will actually do, per
 * pattern (limits.ts passedLimit, monitor.ts): a hybrid session past its idle limit is suspended
 * (status `idle`) and the next message, command or tool call resumes it; every other pattern
 * ends for good on any limit, and an ended ephemeral session is then deleted. Pure, for tests.
 */
import type { SessionRecord } from '../../lib/sessions/session-types'
import { formatDuration } from './format'

export type LimitsView = Pick<SessionRecord, 'pattern' | 'status' | 'limits' | 'createdAt' | 'endReason'> & {
  usage: Pick<SessionRecord['usage'], 'lastActivityAt'>
}

export function timeLeftNote(session: LimitsView | undefined, now: number, ended: boolean): string {
  if (!session) return 'no lifetime limit'
  if (ended) return session.endReason ?? 'ended'
  const { limits, pattern } = session
  if (pattern === 'hybrid' && session.status === 'idle') return 'asleep: the next message wakes it'
  const lastActivity = session.usage.lastActivityAt ?? session.createdAt
  const idleLeft = limits.maxIdleTimeMs ? Math.max(0, lastActivity + limits.maxIdleTimeMs - now) : undefined
  if (idleLeft !== undefined) {
    if (pattern === 'hybrid') return `sleeps after ${formatDuration(idleLeft)} idle, wakes on the next message`
    return pattern === 'ephemeral'
      ? `ends when its agent finishes or if idle for ${formatDuration(idleLeft)}, then is deleted`
      : `ends if idle for ${formatDuration(idleLeft)}`
  }
  if (pattern === 'ephemeral') return 'ends when its agent finishes, then is deleted'
  if (limits.maxLifetimeMs) return `of ${formatDuration(limits.maxLifetimeMs)} lifetime`
  return 'no lifetime limit'
}
