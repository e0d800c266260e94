/**
 * /agents, "My agents" (issue #11, personal agents): the signed-in person's agent profiles, each
 * with what it runs and whether its API key is set; create, edit (Replace/Clear the key) and
 * delete. The key is typed into a password box and never comes back. Without sign-in the page says
 * so and asks nothing of the server.
 */
import { Link, createFileRoute } from '@tanstack/react-router'
import { AppHeader } from '../components/AppHeader'
import { AgentProfileCard } from '../components/agents/AgentProfileCard'
import { AgentProfileForm } from '../components/agents/AgentProfileForm'
import { useAgentProfiles } from '../components/agents/use-agent-profiles'
import { ErrorState, Skeleton } from '../components/states'
import { useAccount } from '../hooks/use-account'

export const Route = createFileRoute('/agents')({
  head: () => ({ meta: [{ title: 'My agents · Tether' }] }),
  component: AgentsPage,
})

function AgentsPage() {
  const account = useAccount()
  const profiles = useAgentProfiles(!!account.user)

  return (
    <div className="app">
      <AppHeader>My agents</AppHeader>
      <main className="page">
        <div className="page-head">
          <div>
            <h1>My agents</h1>
            <p>Agents you run in your sessions, with your own provider key. The key is stored encrypted and only the server's model gateway uses it.</p>
          </div>
        </div>
        {!account.loaded ? (
          <div className="card" style={{ padding: 16 }} aria-busy="true">
            <Skeleton width="50%" />
          </div>
        ) : !account.user ? (
          <div className="card">
            <ErrorState
              title="Sign in to configure your agents"
              detail={account.providers.length ? 'Personal agents belong to a signed-in person: use Sign in above.' : 'This server has no sign-in configured, so there are no personal agents.'}
              action={
                <Link to="/" className="btn">
                  Go to sessions
                </Link>
              }
            />
          </div>
        ) : (
          <div style={{ display: 'grid', gap: 16, gridTemplateColumns: 'repeat(auto-fit, minmax(min(100%, 360px), 1fr))', alignItems: 'start' }}>
            <section aria-label="Your agents" data-testid="agent-list" style={{ display: 'grid', gap: 12 }}>
              {profiles.error ? (
                <p className="form-error" role="alert">
                  {profiles.error}
                </p>
              ) : null}
              {!profiles.loaded ? (
                <Skeleton width="60%" />
              ) : profiles.agents.length ? (
                profiles.agents.map((a) => <AgentProfileCard key={a.id} agent={a} onChanged={profiles.reload} />)
              ) : (
                <div className="card" style={{ padding: 16 }} data-testid="agents-empty">
                  <p className="muted" style={{ margin: 0 }}>
                    No agent configured yet. Create one to start sessions with it.
                  </p>
                </div>
              )}
            </section>
            <AgentProfileForm onSaved={profiles.reload} />
          </div>
        )}
      </main>
    </div>
  )
}
