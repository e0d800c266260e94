/**
 * /admin/webhooks: lifecycle webhook endpoints (admins of all sessions). Lists the endpoints with
 * their recent delivery attempts (refreshed every few seconds), adds and deletes endpoints,
 * replays a delivery, and says how receivers verify signatures. Anyone else gets "admins only"
 * and no request for data.
 */
import { Link, createFileRoute } from '@tanstack/react-router'
import { AppHeader } from '../../components/AppHeader'
import { ErrorState, Skeleton } from '../../components/states'
import { SigningNote } from '../../components/webhooks/SigningNote'
import { WebhookCard } from '../../components/webhooks/WebhookCard'
import { WebhookForm } from '../../components/webhooks/WebhookForm'
import { useAdminToken } from '../../hooks/use-admin-token'
import { useWebhooks } from '../../components/webhooks/use-webhooks'
import { parseTokenSearch } from '../../token-search'

const REFRESH_MS = 3_000

export const Route = createFileRoute('/admin/webhooks')({
  validateSearch: (s: Record<string, unknown>): { token?: string } => parseTokenSearch(s),
  head: () => ({ meta: [{ title: 'Webhooks · Tether' }] }),
  component: WebhooksPage,
})

function WebhooksPage() {
  const search = Route.useSearch()
  const { token, ready, isAdmin } = useAdminToken(search.token)
  const { webhooks, signing, deliveries, error, refresh } = useWebhooks(token, { enabled: ready && isAdmin, refreshMs: REFRESH_MS })
  const refused = (ready && !isAdmin) || error?.status === 401 || error?.status === 403

  return (
    <div className="app">
      <AppHeader>Webhooks</AppHeader>
      <main className="page webhooks-page">
        <div className="page-head">
          <div>
            <h1>Lifecycle webhooks</h1>
            <p>
              Endpoints that receive session and worker lifecycle events, signed, retried with backoff, and logged (refreshed every{' '}
              {REFRESH_MS / 1000} s).
            </p>
          </div>
        </div>
        {refused ? (
          <div className="card">
            <ErrorState
              title="Admins only"
              detail={
                <>
                  Webhooks receive events about every session, so only an admin token for all sessions may see or change them. Open the
                  admin link the server printed (or run <code>npm run tether -- link</code>).
                </>
              }
              action={
                <Link to="/" className="btn">
                  Go to sessions
                </Link>
              }
            />
          </div>
        ) : !webhooks ? (
          error ? (
            <div className="card">
              <ErrorState
                title="Couldn’t load the webhooks"
                detail={error.message}
                action={
                  <button type="button" className="btn" onClick={refresh}>
                    Try again
                  </button>
                }
              />
            </div>
          ) : (
            <div className="card" style={{ padding: 16, display: 'grid', gap: 12 }} aria-busy="true">
              <Skeleton width="60%" />
              <Skeleton width="45%" />
            </div>
          )
        ) : (
          <div className="webhooks-body" data-testid="webhooks">
            {error ? (
              <p className="stats-stale" role="status">
                Showing an earlier answer: {error.message}
              </p>
            ) : null}
            <div className="webhooks-side">
              <WebhookForm token={token} onCreated={refresh} />
              {signing ? <SigningNote signing={signing} /> : null}
            </div>
            <section className="webhooks-list" data-testid="webhook-list" aria-label="Endpoints">
              {webhooks.length ? (
                webhooks.map((w) => <WebhookCard key={w.id} token={token} webhook={w} deliveries={deliveries[w.id]} onChanged={refresh} />)
              ) : (
                <div className="card webhooks-none" data-testid="webhooks-empty">
                  <p className="muted">
                    No endpoints yet. Add one to receive session.created, session.ended and the other lifecycle events.
                  </p>
                </div>
              )}
            </section>
          </div>
        )}
      </main>
    </div>
  )
}
