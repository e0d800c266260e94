/**
 * Forks (issue #10): "Fork from here" on each finished turn (a user message whose turn record has
 * ended) makes a new session from the end of that turn, with the agent's files as they were then
 * (POST /api/sessions/:id/fork), and opens it. Forking makes a session, so only an admin may: for
 * anyone else the button is disabled and its title says why. ForkLineage is the line a fork's
 * page shows: where it came from, linking to the source.
 */
import { Link, useNavigate, useParams } from '@tanstack/react-router'
import { useContext, useEffect, useState } from 'react'
import { sessionApiPath } from '../../lib/common/session-contract'
import { getSession } from '../../lib/sessions/client/api'
import { authHeaders, decodeToken, storedToken } from '../../lib/sessions/client/auth'
import type { ForkLineage as Lineage, SessionRecord } from '../../lib/sessions/session-types'
import { TurnsContext } from './TurnStatus'

async function requestFork(token: string | undefined, sessionId: string, messageId: string): Promise<SessionRecord> {
  const response = await fetch(sessionApiPath(sessionId, 'fork'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...authHeaders(token) },
    body: JSON.stringify({ messageId }),
  })
  const body = (await response.json().catch(() => null)) as { session?: SessionRecord; error?: { message?: string } } | null
  if (!response.ok || !body?.session) throw new Error(body?.error?.message ?? `fork failed (${response.status})`)
  return body.session
}

export function ForkAction({ messageId }: { messageId: string }) {
  const { sessionId } = useParams({ strict: false }) as { sessionId?: string }
  const turn = useContext(TurnsContext)?.byMessage.get(messageId)
  const navigate = useNavigate()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  if (!sessionId || !turn?.ended) return null
  // This browser's admin token (signed in with the admin link): the only one the server lets fork.
  const token = storedToken()
  const info = decodeToken(token)
  const allowed = info?.role === 'admin' && info.sid === '*'
  const title = !allowed
    ? 'Only an admin can fork a session'
    : (error ?? `Start a new session from the end of turn ${turn.turn}, with the agent's files as they were then`)
  const fork = async () => {
    setBusy(true)
    setError(null)
    try {
      const session = await requestFork(token, sessionId, messageId)
      await navigate({ to: '/sessions/$sessionId', params: { sessionId: session.id }, search: {} })
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    } finally {
      setBusy(false)
    }
  }
  return (
    <button
      type="button"
      className={`btn btn-sm btn-ghost${error ? ' btn-danger' : ''}`}
      data-testid="fork-action"
      disabled={!allowed || busy}
      title={title}
      aria-label={`Fork from turn ${turn.turn}`}
      onClick={() => void fork()}
    >
      {busy ? 'Forking…' : error ? 'Fork failed: retry' : 'Fork from here'}
    </button>
  )
}

/** "Forked from <title> at turn N", linking to the source (its title when this browser may read it). */
export function ForkLineage({ from }: { from: Lineage }) {
  const [title, setTitle] = useState<string | null>(null)
  useEffect(() => {
    let cancelled = false
    getSession(storedToken(from.sessionId), from.sessionId)
      .then((s) => !cancelled && setTitle(s.title ?? null))
      .catch(() => {})
    return () => {
      cancelled = true
    }
  }, [from.sessionId])
  return (
    <div className="banner banner-info" role="note" data-testid="fork-lineage">
      Forked from{' '}
      <Link to="/sessions/$sessionId" params={{ sessionId: from.sessionId }} search={{}}>
        {title ?? from.sessionId}
      </Link>{' '}
      at turn {from.turn}.
    </div>
  )
}
