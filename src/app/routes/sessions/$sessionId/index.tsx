import { useMemo, useRef, useState } from 'react'
import { Link, createFileRoute } from '@tanstack/react-router'
import { AgentPanel } from '../../../components/AgentPanel'
import { AppHeader } from '../../../components/AppHeader'
import { MessageList } from '../../../components/Conversation'
import { Composer } from '../../../components/Composer'
import type { SessionConnection } from '../../../../lib/sessions/client/session-db'
import { LiveCursors, PeopleList } from '../../../components/People'
import { PatternBadge, SessionStatusBadge } from '../../../components/SessionBadges'
import { SessionBanner } from '../../../components/SessionBanner'
import { ShareDialog } from '../../../components/ShareDialog'
import { SessionErrorPage, SessionPresenceStatus, SessionTerminalPane } from '../../../components/SessionChrome'
import { parseTokenSearch, tokenSearch } from '../../../token-search'
import { WriteFailures } from '../../../components/Toasts'
import { usePresence } from '../../../hooks/use-presence'
import { useAgentState, useOlderMessages, useSessionMessages, useTerminal } from '../../../hooks/use-session-collections'
import { useSessionPage } from '../../../hooks/use-session-page'
import { useShareLink } from '../../../hooks/use-share-link'
import { shareRefusal } from '../../../../lib/sessions/client/share'
import { useShortcuts } from '../../../hooks/use-shortcuts'
import { useTurns } from '../../../hooks/use-turns'
import { TurnsContext } from '../../../components/TurnStatus'
import { AgentsContext } from '../../../components/AgentName'
import { AddAgentDialog } from '../../../components/AddAgentDialog'
import { useSessionAgents } from '../../../hooks/use-session-agents'
import { ViewBootScript } from '../../../components/ViewBootScript'
import { loadSessionPreview } from '../../../session-preview-load'
import { loadComposerGrant } from '../../../composer-grant-load'
import { composerFormAction } from '../../../composer-form'

export const Route = createFileRoute('/sessions/$sessionId/')({
  validateSearch: parseTokenSearch,
  head: () => ({ meta: [{ title: 'Session · Tether' }] }),
  // The newest messages and the terminal's last screen in the HTML, and whether its composer form
  // may send (server only; null in the browser).
  loader: async ({ params }) => {
    const [preview, composer] = await Promise.all([loadSessionPreview(params.sessionId), loadComposerGrant(params.sessionId)])
    return { preview, composer }
  },
  // The HTML carries the page's own token (the composer form's hidden field): never kept by a cache.
  headers: () => ({ 'cache-control': 'no-store' }),
  component: SessionPage,
})

type Tab = 'chat' | 'agent' | 'terminal'

/**
 * The conversation reads the messages store itself, so a streamed token (at most one render per
 * frame) re-renders the list, not the whole page (agent panel, people, terminal, composer).
 */
function LiveMessageList({ connection, ...props }: { connection: SessionConnection | undefined } & Omit<Parameters<typeof MessageList>[0], 'messages'>) {
  const { messages } = useSessionMessages(connection)
  return <MessageList messages={messages} {...props} />
}

function SessionPage() {
  const { sessionId } = Route.useParams()
  const { token: urlToken } = Route.useSearch()
  const { preview, composer: grant } = Route.useLoaderData()
  const page = useSessionPage(sessionId, urlToken)
  const { connection, status, identity, actions, session, ended, authorOf } = page
  const areaRef = useRef<HTMLDivElement>(null)
  const { here } = usePresence(connection, actions, areaRef, 'session')
  const older = useOlderMessages(connection)
  const terminal = useTerminal(connection)
  const agent = useAgentState(connection)
  const turns = useTurns(connection, authorOf)
  // issue #15: several agents (cards, names, @ completion, add/remove, Stop per agent)
  const several = useSessionAgents(sessionId, page, turns)
  const [tab, setTab] = useState<Tab>('chat')
  const [sharing, setSharing] = useState(false)
  const share = useShareLink(sessionId, page.auth.token, urlToken, sharing)
  const shareDenied = shareRefusal(page.auth.info, !!page.auth.token)
  // "/" jumps to the message box, "`" to the terminal prompt.
  useShortcuts(
    useMemo(
      () => ({
        '/': () => {
          setTab('chat')
          document.getElementById('composer-input')?.focus()
        },
        '`': () => {
          setTab('terminal')
          document.getElementById('terminal-prompt')?.focus()
        },
      }),
      [],
    ),
  )

  if (status.fatal && !status.caughtUp) {
    return (
      <SessionErrorPage
        title={status.reason?.startsWith('no such session') ? 'Session not found' : 'Can’t open this session'}
        detail={status.reason}
      />
    )
  }

  // Until the live page has decided (its actions exist, or its token cannot write), the server's
  // answer for this page's credentials keeps the composer a working form (composer-form.ts).
  const decided = !!actions || (!page.auth.resolving && (!page.auth.canWrite || ended))
  const early = !decided && !!grant?.canSend
  const title = session?.title || (session ? 'Untitled session' : 'Session')
  const retry = () => connection?.status.retryNow()
  return (
    <div className="app app-fixed">
      <ViewBootScript />
      <AppHeader
        right={
          <>
            <SessionPresenceStatus status={status} onRetry={retry} here={here} store={connection?.status} />
            <button
              type="button"
              className="btn btn-sm hide-mobile"
              onClick={() => setSharing(true)}
              disabled={!!shareDenied}
              title={shareDenied ?? 'Get a link that lets someone join as a collaborator'}
              data-testid="share"
            >
              Share
            </button>
            <button
              type="button"
              className="btn btn-sm btn-danger"
              onClick={() => turns.current && several.stop(turns.current)}
              disabled={!actions || ended || !turns.current}
              title={actions ? 'Stop the current turn' : ended ? 'The session has ended' : 'Read-only: only participants can stop the agent'}
              data-testid="stop"
            >
              ■ Stop{several.stopLabel}
            </button>
          </>
        }
      >
        <Link to="/" className="muted hide-mobile">
          Sessions
        </Link>
        <span className="crumb-sep hide-mobile">/</span>
        <h1 data-testid="session-title">{title}</h1>
        {session ? <SessionStatusBadge status={session.status} /> : null}
        {session ? (
          <span className="hide-mobile">
            <PatternBadge pattern={session.pattern} />
          </span>
        ) : null}
      </AppHeader>
      <SessionBanner status={status} session={session} canWrite={page.auth.canWrite} onRetry={retry} />
      <div className="session-page" data-tab={tab} ref={areaRef} data-testid="session-page">
        <div className="mobile-tabs" role="tablist" aria-label="Session panes">
          {(['chat', 'agent', 'terminal'] as const).map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
              {t === 'chat' ? 'Conversation' : t === 'agent' ? 'Agent' : 'Terminal'}
            </button>
          ))}
        </div>
        <section className="session-main" aria-label="Conversation">
          <AgentsContext.Provider value={several.names}>
            <TurnsContext.Provider value={turns}>
              <LiveMessageList
                connection={connection}
                loading={!status.caughtUp}
                authors={authorOf}
                selfId={identity?.userId ?? ''}
                scrollKey={sessionId}
                agentBusy={agent.agents.some((a) => ['thinking', 'running-tool', 'starting'].includes(a.status))}
                readOnly={!actions}
                older={older}
                preview={preview?.messages}
              />
            </TurnsContext.Provider>
          </AgentsContext.Provider>
          <Composer
            onSend={actions ? (text) => actions.sendMessage(text, agent.turns) : undefined}
            disabled={!actions && !early}
            disabledReason={ended ? 'The session has ended' : ((!decided && grant?.reason) || 'Read-only')}
            agents={several.mentionable}
            form={grant ? { action: composerFormAction(sessionId), token: grant.token, messageId: grant.messageId, turn: preview?.turns ?? 0 } : undefined}
          />
        </section>
        <aside className="session-side" aria-label="Agent, people and terminal">
          <AgentPanel
            summary={agent}
            session={session}
            agents={several.agents}
            cardActions={several.cardActions}
            onAddAgent={several.canManage ? () => several.setAdding(true) : undefined}
          />
          <section className="side-section" aria-labelledby="people-heading">
            <h2 id="people-heading">
              Here now <span className="badge">{here.length}</span>
            </h2>
            <PeopleList people={here} selfId={identity?.userId ?? ''} />
          </section>
          <section className="side-section side-terminal" aria-labelledby="terminal-heading">
            <h2 id="terminal-heading">
              Terminal
              <Link
                to="/sessions/$sessionId/terminal"
                params={{ sessionId }}
                search={tokenSearch(urlToken)}
                className="btn btn-sm btn-ghost"
                style={{ textTransform: 'none', letterSpacing: 0 }}
              >
                Open full view ↗
              </Link>
            </h2>
            <SessionTerminalPane page={page} terminal={terminal} preview={preview?.terminal} />
          </section>
        </aside>
        <LiveCursors people={here} selfId={identity?.userId ?? ''} pane="session" />
      </div>
      <WriteFailures store={actions?.failures} />
      {several.adding ? (
        <AddAgentDialog
          sessionId={sessionId}
          token={page.auth.token}
          onAdded={page.refreshSession}
          onClose={() => several.setAdding(false)}
        />
      ) : null}
      {sharing ? <ShareDialog url={share.url} note={share.note} loading={share.loading} onClose={() => setSharing(false)} /> : null}
    </div>
  )
}
