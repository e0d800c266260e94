import type { ReactNode } from 'react'
import { Link } from '@tanstack/react-router'
import { ThemeToggle } from './theme'
import { StatsLink } from './stats/StatsLink'
import { WebhooksLink } from './webhooks/WebhooksLink'
import { AccountMenu } from './AccountMenu'

export function AppHeader({ children, right }: { children?: ReactNode; right?: ReactNode }) {
  return (
    <header className="app-header">
      <Link to="/" className="brand" aria-label="Tether: all sessions">
        <span className="brand-mark" aria-hidden="true">
          ⟂
        </span>
        <span className="hide-mobile">Tether</span>
      </Link>
      {children ? <div className="header-title">{children}</div> : null}
      <div className="header-spacer" />
      <StatsLink />
      <WebhooksLink />
      {right}
      <AccountMenu />
      <ThemeToggle />
    </header>
  )
}
