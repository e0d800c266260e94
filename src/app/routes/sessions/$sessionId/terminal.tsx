import { useMemo, useRef, useState } from 'react'
import { clockTime } from '../../../components/format'
import { Link, createFileRoute } from '@tanstack/react-router'
import { AppHeader } from '../../../components/AppHeader'
import { LiveCursors } from '../../../components/People'
import { SessionBanner } from '../../../components/SessionBanner'
// The ESM files by path (the browser bundle resolves the packages to these same files): the
// server render runs under node, which reads the packages' CommonJS main and sees no named exports.
import { Terminal } from '@xterm/xterm/lib/xterm.mjs'
import { FitAddon } from '@xterm/addon-fit/lib/addon-fit.mjs'
import { provideXterm } from '../../../components/TerminalPane'
import { ViewBootScript } from '../../../components/ViewBootScript'
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
      {clockTime(block.timestamp)}
    </time>
  )
}

/** The newest commands listed before "Show all": a long session has thousands. */
const SHOWN_BLOCKS = 200

/** One command in the list; its output is joined and drawn only while it is open. */
function CommandItem({ block, author }: { block: CommandBlock; author: { name: string; color?: string } }) {
  const [open, setOpen] = useState(false)
  return (
    <details className="command-block" data-testid="command-block" onToggle={(e) => setOpen(e.currentTarget.open)}>
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
        <span style={{ color: author.color }} title={author.name}>
          ●
        </span>
        <span className="cmd" style={{ flex: 1, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}>
          {block.command}
        </span>
        <CommandBadge block={block} />
      </summary>
      {open && block.outputParts.length ? <pre>{block.output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')}</pre> : null}
    </details>
  )
}

function TerminalPage() {
  const { sessionId } = Route.useParams()
  const { token: urlToken } = Route.useSearch()
  // xterm is this page's content: imported by the page itself, so the HTML preloads it with the
  // page's scripts (the session page loads it when its pane mounts: page-startup.test.ts).
  provideXterm([{ Terminal }, { FitAddon }])
  const page = useSessionPage(sessionId, urlToken)
  const { connection, status, identity, actions, session, authorOf } = page
  const areaRef = useRef<HTMLDivElement>(null)
  const { here } = usePresence(connection, actions, areaRef, 'terminal')
  const terminal = useTerminal(connection)
  const newestFirst = useMemo(() => [...terminal.blocks].reverse(), [terminal.blocks])
  const [showAll, setShowAll] = useState(false)
  const retry = () => connection?.status.retryNow()

  if (status.fatal && !status.caughtUp) {
    return <SessionErrorPage title="Can’t open this terminal" detail={status.reason} />
  }

  return (
    <div className="app app-fixed">
      <ViewBootScript />
      <AppHeader right={<SessionPresenceStatus status={status} onRetry={retry} here={here} store={connection?.status} />}>
        <Link to="/sessions/$sessionId" params={{ sessionId }} search={tokenSearch(urlToken)} className="muted">
          ← {session?.title || 'Session'}
        </Link>
        <span className="crumb-sep">/</span>
        <h1>Terminal</h1>
      </AppHeader>
      <SessionBanner status={status} session={session} canWrite={page.auth.canWrite} onRetry={retry} />
      <div className="terminal-page" ref={areaRef} style={{ position: 'relative' }}>
        <SessionTerminalPane page={page} terminal={terminal} autoFocusPrompt drawFromView />
        <aside className="terminal-side" aria-label="Commands">
          <div className="card">
            <h2>Commands ({terminal.blocks.length})</h2>
            {terminal.blocks.length === 0 ? (
              <p className="faint" style={{ margin: 0, fontSize: 13 }}>
                Commands anyone runs show here, each with its output.
              </p>
            ) : (
              <div data-testid="command-blocks">
                {newestFirst.slice(0, showAll ? undefined : SHOWN_BLOCKS).map((b) => (
                  <CommandItem key={b.id} block={b} author={authorOf(b.source)} />
                ))}
                {!showAll && newestFirst.length > SHOWN_BLOCKS ? (
                  <button type="button" className="btn btn-sm" onClick={() => setShowAll(true)} data-testid="command-blocks-all">
                    Show all {newestFirst.length} commands
                  </button>
                ) : null}
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
