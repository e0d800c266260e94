/**
 * The header's link to /admin/webhooks, for admins of all sessions only; like StatsLink it is
 * known only in the browser (the token is in localStorage), so it appears after mount.
 */
import { useEffect, useState } from 'react'
import { Link } from '@tanstack/react-router'
import { decodeToken, storedToken } from '../../../lib/sessions/client/auth'

export function WebhooksLink() {
  const [admin, setAdmin] = useState(false)
  useEffect(() => {
    const info = decodeToken(storedToken())
    setAdmin(info?.role === 'admin' && info.sid === '*')
  }, [])
  if (!admin) return null
  return (
    <Link
      to="/admin/webhooks"
      className="btn btn-ghost btn-sm hide-mobile"
      data-testid="webhooks-link"
      aria-label="Lifecycle webhooks (admins)"
    >
      Webhooks
    </Link>
  )
}
