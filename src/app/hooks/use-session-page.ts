import { useCallback, useMemo, useRef } from 'react'
import type { Identity, SessionActions } from '../../lib/sessions/client/actions'
import type { ConnectionStatus } from '../../lib/sessions/client/connection-status'
import { resolveIdentity } from '../../lib/sessions/client/identity'
import type { SessionConnection } from '../../lib/sessions/client/session-db'
import type { SessionRecord } from '../../lib/sessions/session-types'
import type { ApiError } from '../../lib/sessions/client/api'
import { usePageConnectionStatus, useSessionConnection } from './use-session-connection'
import { useSessionActions } from './use-session-actions'
import { useSessionRecord } from './use-session-record'
import { tokenKnownNow, useSessionToken, type SessionAuth } from './use-session-token'
import { usePresenceRows } from './use-session-collections'
import { storedToken } from '../../lib/sessions/client/auth'
import { prefetchSessionView } from '../../lib/sessions/client/session-view'
import { preopenSessionConnection } from '../../lib/sessions/client/session-db'

export interface SessionPageState {
  auth: SessionAuth
  connection?: SessionConnection
  connectionError?: string
  status: ConnectionStatus
  identity?: Identity
  actions?: SessionActions
  session?: SessionRecord
  sessionError?: ApiError
  refreshSession: () => void
  ended: boolean
  /** display name and colour for a user or agent id */
  authorOf: (id: string) => { name: string; color?: string }
}

let pageRendered = false
const preopened = new Set<string>()

/** Everything a session page needs: token, shared stream connection, status, identity, actions, record. */
export function useSessionPage(sessionId: string, urlToken: string | undefined): SessionPageState {
  // In render, not an effect: the view's request starts while the page hydrates (once per session;
  // the HTML's boot script usually asked already, and this adopts its answer).
  if (typeof window !== 'undefined') {
    // The session-page bench's timeline: when hydration reached the page (after module load).
    if (!pageRendered) {
      pageRendered = true
      performance.mark('tether:page-render')
    }
    prefetchSessionView(sessionId, urlToken ?? storedToken(sessionId), window.location.origin)
    // The connection too (once per session and token; useSessionConnection's acquire adopts it):
    // its view is applied while the page hydrates, not after the effects that resolve the token.
    const known = tokenKnownNow(sessionId, urlToken)
    if (known && !preopened.has(`${sessionId} ${known.token ?? ''}`)) {
      preopened.add(`${sessionId} ${known.token ?? ''}`)
      preopenSessionConnection({ sessionId, token: known.token })
    }
  }
  const auth = useSessionToken(sessionId, urlToken)
  const ready = !auth.resolving
  const { connection: liveConnection, error: connectionError } = useSessionConnection(sessionId, auth.token, ready)
  // Not re-rendered by each applied batch (usePageConnectionStatus): streaming renders the list only.
  const status = usePageConnectionStatus(liveConnection)
  const identity = useMemo(() => (ready && typeof window !== 'undefined' ? resolveIdentity(auth.token) : undefined), [ready, auth.token])
  const { session, error: sessionError, refresh } = useSessionRecord(sessionId, auth.token, ready)
  const ended = status.ended === true || (session ? !['active', 'idle'].includes(session.status) : false)
  const actions = useSessionActions(liveConnection, identity, auth.canWrite && !ended)
  const people = usePresenceRows(liveConnection)
  // Names outlive presence: someone who left still authored their messages and commands.
  const known = useRef(new Map<string, { name: string; color?: string }>())
  for (const p of people) known.current.set(p.userId, { name: p.displayName, color: p.color })
  // biome-ignore lint/correctness/useExhaustiveDependencies: people is the trigger: views re-render with the names when they change
  const authorOf = useCallback(
    (id: string) => {
      const person = known.current.get(id)
      if (person) return person
      if (identity && id === identity.userId) return { name: identity.displayName, color: identity.color }
      return { name: id, color: undefined }
    },
    [people, identity],
  )
  return {
    auth,
    connection: liveConnection,
    connectionError,
    status,
    identity,
    actions,
    session,
    sessionError,
    refreshSession: refresh,
    ended,
    authorOf,
  }
}
