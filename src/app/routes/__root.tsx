import { useEffect, useState, type ReactNode } from 'react'
import { HeadContent, Outlet, Scripts, createRootRoute, useRouter, useRouterState } from '@tanstack/react-router'
import appCss from '../styles.css?url'
import xtermCss from '@xterm/xterm/css/xterm.css?url'
import { THEME_BOOT_SCRIPT } from '../components/theme'
import { ErrorPage } from '../components/states'
import { exchangeLoginCode, rememberToken, scrubCredentialsFromAddressBar } from '../../lib/sessions/client/auth'

/** A full page load of the home page (these error pages may stand outside the router's state). */
const goToSessions = (
  <a className="btn" href="/">
    Go to sessions
  </a>
)

export const Route = createRootRoute({
  head: () => ({
    meta: [
      { charSet: 'utf-8' },
      { name: 'viewport', content: 'width=device-width, initial-scale=1, viewport-fit=cover' },
      { name: 'color-scheme', content: 'light dark' },
      { title: 'Tether' },
    ],
    links: [
      { rel: 'stylesheet', href: xtermCss },
      { rel: 'stylesheet', href: appCss },
      {
        rel: 'icon',
        href: 'data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 32 32%22><rect width=%2232%22 height=%2232%22 rx=%228%22 fill=%22%234f46e5%22/><path d=%22M9 11h14M16 11v12%22 stroke=%22white%22 stroke-width=%223.2%22 stroke-linecap=%22round%22/></svg>',
      },
    ],
  }),
  component: RootComponent,
  notFoundComponent: () => <ErrorPage title="Page not found" detail="There is nothing at this address." action={goToSessions} />,
})

function RootComponent() {
  const location = useRouterState({ select: (s) => ({ pathname: s.location.pathname, searchStr: s.location.searchStr }) })
  const params = new URLSearchParams(location.searchStr)
  const code = params.get('code')
  const urlToken = params.get('token')
  const [loginError, setLoginError] = useState<string>()

  // Outside session pages: remember `?token=` here, then take it out of the address bar (a lazily
  // loaded page may mount after this runs; it then finds the remembered token). Session pages do
  // both themselves (useSessionToken), because a share link joins first.
  useEffect(() => {
    if (urlToken && !code && !location.pathname.startsWith('/sessions/') && rememberToken(urlToken)) scrubCredentialsFromAddressBar()
  }, [urlToken, code, location.pathname])

  let content: ReactNode = <Outlet />
  if (code) content = <LoginCodeExchange code={code} onError={setLoginError} />
  else if (loginError) {
    content = <ErrorPage title="This admin link did not work" detail={loginError} action={goToSessions} />
  }
  return <RootDocument>{content}</RootDocument>
}

/**
 * The admin link (`/?code=…`): trades the one-time code for an admin token, remembers it and
 * takes the code out of the address bar; the page then renders signed in. Rendered instead of the
 * page (on the server too, so hydration matches) until then.
 */
function LoginCodeExchange({ code, onError }: { code: string; onError: (reason: string) => void }) {
  useEffect(() => {
    exchangeLoginCode(code)
      .then(
        (token) => {
          if (!rememberToken(token)) onError('This browser cannot keep the sign-in (storage is unavailable).')
        },
        (err: unknown) => onError(err instanceof Error ? err.message : String(err)),
      )
      .finally(() => scrubCredentialsFromAddressBar())
  }, [code, onError])
  return (
    <div className="app">
      <main className="page">
        <p className="muted" role="status" data-testid="signing-in">
          Signing you in…
        </p>
      </main>
    </div>
  )
}

function RootDocument({ children }: { children: ReactNode }) {
  // The CSP nonce of this response (set on the server by src/app/start.ts; read back from the
  // page's csp-nonce meta in the browser), for our one inline script.
  const nonce = useRouter().options.ssr?.nonce
  return (
    // The theme script sets data-theme before first paint, so React sees an attribute it did not render.
    <html lang="en" suppressHydrationWarning>
      <head>
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: THEME_BOOT_SCRIPT is our own constant (nothing from input), run under the page's nonce */}
        <script nonce={nonce} suppressHydrationWarning dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
        <HeadContent />
      </head>
      <body>
        {children}
        <Scripts />
      </body>
    </html>
  )
}
