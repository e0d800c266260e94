import { useEffect, useState } from 'react'
import { Link, createFileRoute, useNavigate } from '@tanstack/react-router'
import { AppHeader } from '../components/AppHeader'
import { formatCount, formatUsd, timeAgo } from '../components/format'
import { NewSessionDialog } from '../components/NewSessionDialog'
import { AvatarStack } from '../components/People'
import { PatternBadge, SessionStatusBadge } from '../components/SessionBadges'
import { EmptyState, ErrorState, Skeleton } from '../components/states'
import { useSessionList } from '../hooks/use-session-list'
import { createSession } from '../../lib/sessions/client/api'
import { rememberToken, storedToken } from '../../lib/sessions/client/auth'
import { rememberShareToken } from '../../lib/sessions/client/share'
import { SESSION_PATTERNS, SESSION_STATUSES, type SessionPattern, type SessionStatus } from '../../lib/sessions/session-states'
import type { SessionRecord } from '../../lib/sessions/session-types'
import type { AgentState } from '../../lib/sessions/channel-schemas'
import { useSessionPeeks } from '../hooks/use-session-peeks'
import { parseTokenSearch } from '../token-search'

interface HomeSearch {
  token?: string
  status?: SessionStatus
  pattern?: SessionPattern
}

export const Route = createFileRoute('/')({
  validateSearch: (s: Record<string, unknown>): HomeSearch => ({
    ...parseTokenSearch(s),
    ...(typeof s.status === 'string' && (SESSION_STATUSES as readonly string[]).includes(s.status)
      ? { status: s.status as SessionStatus }
      : {}),
    ...(typeof s.pattern === 'string' && (SESSION_PATTERNS as readonly string[]).includes(s.pattern)
      ? { pattern: s.pattern as SessionPattern }
      : {}),
  }),
  component: Home,
})

const AGENT_BADGE: Record<string, string> = {
  thinking: 'badge badge-accent',
  'running-tool': 'badge badge-info',
  starting: 'badge badge-info',
  waiting: 'badge badge-warn',
  failed: 'badge badge-danger',
}

function AgentCell({ session, agent }: { session: SessionRecord; agent?: AgentState }) {
  const live = session.status === 'active' || session.status === 'idle'
  return (
    <span className="muted" style={{ fontSize: 13, display: 'flex', gap: 6, alignItems: 'center', flexWrap: 'wrap' }}>
      <span className="cell-label">Agent</span>
      {agent && live ? (
        <span className={AGENT_BADGE[agent.status] ?? 'badge'} data-testid="agent-state">
          {['thinking', 'running-tool', 'starting'].includes(agent.status) ? <span className="dot dot-pulse" /> : null}
          {agent.status}
        </span>
      ) : null}
      <span>
        {session.agent.model ?? session.agent.provider ?? 'agent'} · {session.usage.turns} turn{session.usage.turns === 1 ? '' : 's'}
      </span>
    </span>
  )
}

/** One of the list's filters: a labelled select whose first, empty choice means "any". */
function FilterSelect<T extends string>({
  id,
  label,
  all,
  options,
  value,
  onChange,
  testId,
}: {
  id: string
  label: string
  all: string
  options: readonly T[]
  value: T | undefined
  onChange: (value: T | undefined) => void
  testId?: string
}) {
  return (
    <>
      <label className="sr-only" htmlFor={id}>
        {label}
      </label>
      <select
        id={id}
        className="select"
        value={value ?? ''}
        onChange={(e) => onChange((e.target.value || undefined) as T | undefined)}
        data-testid={testId}
      >
        <option value="">{all}</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </>
  )
}

function useHomeToken(urlToken: string | undefined): { token?: string; ready: boolean } {
  const [state, setState] = useState<{ token?: string; ready: boolean }>({ ready: false })
  useEffect(() => {
    if (urlToken) rememberToken(urlToken)
    setState({ token: urlToken ?? storedToken(), ready: true })
  }, [urlToken])
  return state
}

function Home() {
  const search = Route.useSearch()
  const navigate = useNavigate({ from: '/' })
  const { token, ready } = useHomeToken(search.token)
  const [query, setQuery] = useState('')
  const [creating, setCreating] = useState(false)
  const { sessions, stats, error, refresh } = useSessionList(token, { status: search.status, pattern: search.pattern, limit: 100 }, ready)

  const setFilter = (patch: Partial<HomeSearch>) =>
    void navigate({ search: (prev) => ({ ...prev, ...patch, token: undefined }), replace: true })
  const visible = (sessions ?? []).filter((s) => !query || `${s.title ?? ''} ${s.id}`.toLowerCase().includes(query.toLowerCase()))
  // Who is in each live session and what its agent does (first 20 live ones shown).
  const peekIds = visible
    .filter((s) => s.status === 'active' || s.status === 'idle')
    .slice(0, 20)
    .map((s) => s.id)
  const peeks = useSessionPeeks(token, peekIds, ready && !!sessions)

  const create = async (input: Parameters<typeof createSession>[1]) => {
    const created = await createSession(token, input)
    if (created.shareToken) rememberShareToken(created.session.id, created.shareToken)
    setCreating(false)
    refresh()
    await navigate({ to: '/sessions/$sessionId', params: { sessionId: created.session.id }, search: {} })
  }

  return (
    <div className="app">
      <AppHeader
        right={
          <button
            type="button"
            className="btn btn-primary btn-sm"
            onClick={() => setCreating(true)}
            data-testid="new-session"
            disabled={!!error && error.status === 401}
          >
            + New session
          </button>
        }
      />
      <main className="page">
        <div className="page-head">
          <div>
            <h1>Sessions</h1>
            <p>
              {stats ? (
                <>
                  {stats.total} session{stats.total === 1 ? '' : 's'} · {stats.byStatus.active ?? 0} active ·{' '}
                  {formatCount(stats.usage.tokensIn + stats.usage.tokensOut)} tokens · {formatUsd(stats.usage.costUsd)} spent
                </>
              ) : (
                'Durable sessions for people and agents: everything that happens is kept in one stream.'
              )}
            </p>
          </div>
        </div>
        <div className="card">
          {/* biome-ignore lint/a11y/useSemanticElements: the <search> element is newer than some browsers we serve; the role says the same */}
          <div className="toolbar" role="search">
            <label className="sr-only" htmlFor="filter-text">
              Search sessions
            </label>
            <input
              id="filter-text"
              className="input"
              placeholder="Search by title or id"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
            />
            <FilterSelect
              id="filter-status"
              label="Status"
              all="All statuses"
              options={SESSION_STATUSES}
              value={search.status}
              onChange={(status) => setFilter({ status })}
              testId="filter-status"
            />
            <FilterSelect
              id="filter-pattern"
              label="Pattern"
              all="All patterns"
              options={SESSION_PATTERNS}
              value={search.pattern}
              onChange={(pattern) => setFilter({ pattern })}
            />
          </div>
          {error && !sessions ? (
            <ErrorState
              title={error.status === 401 || error.status === 403 ? 'Sign in to see sessions' : 'Couldn’t load sessions'}
              detail={
                error.status === 401 || error.status === 403
                  ? 'Open the admin link the server printed when it started (one use, 15 minutes; `npm run tether -- link` prints a new one), or a session’s share link.'
                  : error.message
              }
              action={
                <button type="button" className="btn" onClick={refresh}>
                  Try again
                </button>
              }
            />
          ) : !sessions ? (
            <div style={{ padding: 16, display: 'grid', gap: 12 }}>
              <Skeleton width="70%" />
              <Skeleton width="55%" />
              <Skeleton width="62%" />
            </div>
          ) : visible.length === 0 ? (
            sessions.length === 0 && !search.status && !search.pattern ? (
              <EmptyState
                icon="⟂"
                title="No sessions yet"
                detail="A session is a shared space where people and an agent talk, run tools and use a terminal together."
                action={
                  <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
                    Start the first session
                  </button>
                }
              />
            ) : (
              <EmptyState
                icon="⌕"
                title="Nothing matches"
                detail="No session matches these filters."
                action={
                  <button
                    type="button"
                    className="btn"
                    onClick={() => {
                      setQuery('')
                      setFilter({ status: undefined, pattern: undefined })
                    }}
                  >
                    Clear filters
                  </button>
                }
              />
            )
          ) : (
            <ul className="session-list" data-testid="session-list">
              <li className="session-row head" aria-hidden="true">
                <span>Session</span>
                <span>Status</span>
                <span>Agent</span>
                <span>Cost</span>
                <span className="col-people">People</span>
              </li>
              {visible.map((s) => (
                <li key={s.id}>
                  <Link
                    to="/sessions/$sessionId"
                    params={{ sessionId: s.id }}
                    search={{}}
                    className="session-row"
                    data-testid="session-row"
                    data-session-id={s.id}
                  >
                    <span className="col-title" style={{ minWidth: 0 }}>
                      <div className="session-title">{s.title || 'Untitled session'}</div>
                      <div className="session-sub">
                        {s.id.slice(0, 12)} · {timeAgo(s.usage.lastActivityAt ?? s.createdAt)}
                      </div>
                    </span>
                    <span style={{ display: 'flex', gap: 6, flexWrap: 'wrap' }}>
                      <SessionStatusBadge status={s.status} />
                      <PatternBadge pattern={s.pattern} />
                    </span>
                    <AgentCell session={s} agent={peeks.get(s.id)?.agent} />
                    <span className="num">
                      <span className="cell-label">Cost</span>
                      {formatUsd(s.usage.costUsd)}
                    </span>
                    <span className="col-people">
                      {s.status === 'active' || s.status === 'idle' ? (
                        <AvatarStack people={peeks.get(s.id)?.people ?? []} small />
                      ) : (
                        <span className="faint">—</span>
                      )}
                    </span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </div>
      </main>
      {creating ? <NewSessionDialog onCreate={create} onClose={() => setCreating(false)} /> : null}
    </div>
  )
}
