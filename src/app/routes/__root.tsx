import type { ReactNode } from 'react'
import { HeadContent, Outlet, Scripts, createRootRoute } from '@tanstack/react-router'
import appCss from '../styles.css?url'
import xtermCss from '@xterm/xterm/css/xterm.css?url'
import { THEME_BOOT_SCRIPT } from '../components/theme'
import { ErrorState } from '../components/states'

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
      { rel: 'icon', href: 'data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 32 32%22><rect width=%2232%22 height=%2232%22 rx=%228%22 fill=%22%234f46e5%22/><path d=%22M9 11h14M16 11v12%22 stroke=%22white%22 stroke-width=%223.2%22 stroke-linecap=%22round%22/></svg>' },
    ],
  }),
  component: RootComponent,
  notFoundComponent: () => (
    <div className="app">
      <main className="page">
        <ErrorState title="Page not found" detail="There is nothing at this address." action={<a className="btn" href="/">Go to sessions</a>} />
      </main>
    </div>
  ),
})

function RootComponent() {
  return (
    <RootDocument>
      <Outlet />
    </RootDocument>
  )
}

function RootDocument({ children }: { children: ReactNode }) {
  return (
    // The theme script sets data-theme before first paint, so React sees an attribute it did not render.
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_BOOT_SCRIPT }} />
        <HeadContent />
      </head>
      <body>
        {children}
        <Scripts />
      </body>
    </html>
  )
}
