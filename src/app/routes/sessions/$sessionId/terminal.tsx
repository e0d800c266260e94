import { useRef } from 'react'
import { Link, createFileRoute } from '@tanstack/react-router'
import { AppHeader } from '../../../components/AppHeader'
import { LiveCursors } from '../../../components/People'
import { SessionBanner } from '../../../components/SessionBanner'
import { SessionErrorPage, SessionPresenceStatus, SessionTerminalPane } from '../../../components/SessionChrome'
import { parseTokenSearch, tokenSearch } from '../../../token-search'
import { WriteFailures } from '../../../components/Toasts'
import { usePresence } from '../../../hooks/use-presence'
import { useTerminal } from '../../../hooks/use-session-collections'
import { useSessionPage } from '../../../hooks/use-session-page'
import type { CommandBlock } from '../../../../lib/sessions/client/derive'

export const Route = createFileRoute('/sessions/$sessionId/terminal')({
  validateSearch: parseTokenSearch,
  head: () => ({ meta: [{ title: 'Terminal · Tether' }] }),
  component: TerminalPage,
})

function CommandBadge({ block }: { block: CommandBlock }) {
  if (block.pending) return <span className="badge">sending</span>
  // The shell reports an exit code only when it exits itself; otherwise show when it ran.
  if (block.exitCode !== undefined)
    return <span className={block.exitCode === 0 ? 'badge badge-ok' : 'badge badge-danger'}>exit {block.exitCode}</span>
  return (
    <time className="faint" style={{ fontSize: 11 }}>
      {new Date(block.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}
    </time>
  )
}

function TerminalPage() {
  const { sessionId } = Route.useParams()
  const { token: urlToken } = Route.useSearch()
  const page = useSessionPage(sessionId, urlToken)
  const { connection, status, identity, actions, session, authorOf } = page
  const areaRef = useRef<HTMLDivElement>(null)
  const { here } = usePresence(connection, actions, areaRef, 'terminal')
  const terminal = useTerminal(connection)
  const retry = () => connection?.status.retryNow()

  if (status.fatal && !status.caughtUp) {
    return <SessionErrorPage title="Can’t open this terminal" detail={status.reason} />
  }

  return (
    <div className="app app-fixed">
      <AppHeader right={<SessionPresenceStatus status={status} onRetry={retry} here={here} />}>
        <Link to="/sessions/$sessionId" params={{ sessionId }} search={tokenSearch(urlToken)} className="muted">
          ← {session?.title || 'Session'}
        </Link>
        <span className="crumb-sep">/</span>
        <h1>Terminal</h1>
      </AppHeader>
      <SessionBanner status={status} session={session} canWrite={page.auth.canWrite} onRetry={retry} />
      <div className="terminal-page" ref={areaRef} style={{ position: 'relative' }}>
        <SessionTerminalPane page={page} terminal={terminal} autoFocusPrompt />
        <aside className="terminal-side" aria-label="Commands">
          <div className="card">
            <h2>Commands ({terminal.blocks.length})</h2>
            {terminal.blocks.length === 0 ? (
              <p className="faint" style={{ margin: 0, fontSize: 13 }}>
                Commands anyone runs show here, each with its output.
              </p>
            ) : (
              <div data-testid="command-blocks">
                {[...terminal.blocks].reverse().map((b) => (
                  <details key={b.id} className="command-block" data-testid="command-block">
                    <summary
                      style={{
                        display: 'flex',
                        gap: 8,
                        alignItems: 'center',
                        cursor: 'pointer',
                        fontFamily: 'var(--font-mono)',
                        fontSize: 12,
                      }}
                    >
                      <span style={{ color: authorOf(b.source).color }} title={authorOf(b.source).name}>
                        ●
                      </span>
                      <span className="cmd" style={{ flex: 1, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
                        {b.command}
                      </span>
                      <CommandBadge block={b} />
                    </summary>
                    {b.output ? <pre>{b.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')}</pre> : null}
                  </details>
                ))}
              </div>
            )}
          </div>
          <div className="card">
            <h2>Keys</h2>
            <p className="faint" style={{ margin: 0, fontSize: 13, lineHeight: 1.7 }}>
              <kbd>↑</kbd> <kbd>↓</kbd> history (everyone’s) · <kbd>Ctrl</kbd>+<kbd>R</kbd> search · <kbd>Ctrl</kbd>+<kbd>C</kbd> clear /
              interrupt. Click into the terminal to type straight into the shell (for interactive programs).
            </p>
          </div>
        </aside>
        <LiveCursors people={here} selfId={identity?.userId ?? ''} pane="terminal" />
      </div>
      <WriteFailures store={actions?.failures} />
    </div>
  )
}
