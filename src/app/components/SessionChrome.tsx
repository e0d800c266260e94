import { Link } from '@tanstack/react-router'
import type { Presence } from '../../lib/sessions/channel-schemas'
import type { ConnectionStatus, ConnectionStatusStore } from '../../lib/sessions/client/connection-status'
import { AppHeader } from './AppHeader'
import { ConnectionBadge } from './ConnectionBadge'
import { AvatarStack } from './People'
import { ErrorPage } from './states'
import { TerminalPane } from './TerminalPane'
import type { useTerminal } from '../hooks/use-session-collections'
import type { SessionPageState } from '../hooks/use-session-page'
import { useConnectionReady } from '../hooks/use-terminal-ready'

/** A session page that cannot open (no such session, refused): the reason and a way back. */
export function SessionErrorPage({ title, detail }: { title: string; detail?: string }) {
  return (
    <ErrorPage
      header={<AppHeader />}
      title={title}
      detail={detail}
      action={
        <Link to="/" className="btn">
          Back to sessions
        </Link>
      }
    />
  )
}

/** Right of a session page's header: the connection badge and who is here (not on phones). */
export function SessionPresenceStatus({
  status,
  onRetry,
  here,
  store,
}: {
  status: ConnectionStatus
  onRetry: () => void
  here: Presence[]
  store?: ConnectionStatusStore
}) {
  return (
    <>
      <ConnectionBadge status={status} onRetry={onRetry} store={store} />
      <span className="hide-mobile">
        <AvatarStack people={here} small />
      </span>
    </>
  )
}

/**
 * The session's shared terminal as a page shows it: typing needs write access, drawing waits for
 * catch-up (or, with `drawFromView`, for the view the page opened from). A prompt that cannot
 * type says why: ended only when the session has ended.
 */
export function SessionTerminalPane({
  page,
  terminal,
  autoFocusPrompt,
  preview,
  drawFromView,
}: {
  page: Pick<SessionPageState, 'actions' | 'authorOf' | 'status' | 'ended' | 'auth' | 'connection'>
  terminal: Pick<ReturnType<typeof useTerminal>, 'lines' | 'history' | 'earlier'>
  autoFocusPrompt?: boolean
  /** the terminal's last screen from the page's HTML (session-preview.ts) */
  preview?: string
  /**
   * Draw once the collections hold the view (its terminal window and presence, so names are
   * known), before the live read's up-to-date: the terminal page, where xterm is the content. The
   * session page keeps waiting for catch-up, its conversation comes first there.
   */
  drawFromView?: boolean
}) {
  const viewReady = useConnectionReady(drawFromView ? page.connection : undefined)
  // Lines there too: a first draw from no lines would write everything after it, window or not.
  const drawable = page.status.caughtUp || (viewReady && terminal.lines.length > 0)
  return (
    <TerminalPane
      preview={preview}
      lines={terminal.lines}
      history={terminal.history}
      earlier={terminal.earlier}
      actions={page.actions}
      authorOf={page.authorOf}
      disabled={!page.actions}
      disabledReason={
        page.ended
          ? 'The session has ended'
          : page.auth.resolving || page.auth.canWrite
            ? 'Connecting…'
            : 'You are viewing: only participants can type here'
      }
      autoFocusPrompt={autoFocusPrompt}
      loading={!drawable}
      // The session page: its conversation first, xterm once caught up and idle (the preview shows the screen).
      deferXterm={!drawFromView}
    />
  )
}
