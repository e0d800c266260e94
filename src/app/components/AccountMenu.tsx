/**
 * The header's sign-in corner: "Sign in" (one per configured provider) when nobody is signed in,
 * else the person's name and "Sign out". Nothing at all when the server has no identity provider
 * (a fresh install keeps the admin link only). Known only after mount: the cookie is http-only.
 */
import { useAccount, signOut } from '../hooks/use-account'

const LABEL: Record<string, string> = { oidc: 'Sign in', github: 'Sign in with GitHub' }

export function AccountMenu() {
  const { loaded, user, providers } = useAccount()
  if (!loaded) return null
  if (user) {
    return (
      <span className="account-menu" data-testid="account-menu" style={{ display: 'inline-flex', gap: 8, alignItems: 'center' }}>
        <a className="btn btn-ghost btn-sm" href="/agents" data-testid="my-agents">
          My agents
        </a>
        <span className="account-name hide-mobile" data-testid="account-name" title={user.email ?? undefined}>
          {user.name ?? user.email ?? 'Signed in'}
        </span>
        <button
          type="button"
          className="btn btn-ghost btn-sm"
          data-testid="sign-out"
          onClick={() => {
            void signOut().then(() => window.location.assign('/'))
          }}
        >
          Sign out
        </button>
      </span>
    )
  }
  if (providers.length === 0) return null
  const returnTo = typeof window === 'undefined' ? '/' : window.location.pathname + window.location.search
  return (
    <span className="account-menu" style={{ display: 'inline-flex', gap: 8, alignItems: 'center' }}>
      {providers.map((p) => (
        <a
          key={p}
          className="btn btn-sm"
          data-testid={`sign-in-${p}`}
          href={`/api/auth/login?provider=${encodeURIComponent(p)}&returnTo=${encodeURIComponent(returnTo)}`}
        >
          {LABEL[p] ?? `Sign in (${p})`}
        </a>
      ))}
    </span>
  )
}
