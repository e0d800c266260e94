/**
 * The header's link to /admin/stats, for admins of all sessions only. Who we are is known only in
 * the browser (the token is in localStorage), so it appears after mount; the server renders
 * nothing for it.
 */
import { useEffect, useState } from 'react'
import { Link } from '@tanstack/react-router'
import { decodeToken, storedToken } from '../../../lib/sessions/client/auth'

export function StatsLink() {
  const [admin, setAdmin] = useState(false)
  useEffect(() => {
    const info = decodeToken(storedToken())
    setAdmin(info?.role === 'admin' && info.sid === '*')
  }, [])
  if (!admin) return null
  return (
    <Link to="/admin/stats" className="btn btn-ghost btn-sm" data-testid="stats-link" aria-label="Stats dashboard (admins)">
      Stats
    </Link>
  )
}
