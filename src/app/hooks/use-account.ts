/**
 * Who is signed in (GET /api/auth/me; the cookie is http-only, so the page asks the server) and
 * which providers the server offers. A signed-in person's user id becomes this browser's identity
 * in sessions (localStorage `tether.identity`, the key src/lib/sessions/client/identity.ts reads),
 * so their messages and presence carry the author the server will accept for their cookie.
 */
import { useEffect, useState } from 'react'

export interface AccountUser {
  id: string
  name: string | null
  email: string | null
  provider: string
  admin: boolean
}

export interface AccountState {
  loaded: boolean
  user: AccountUser | null
  providers: string[]
}

const IDENTITY_KEY = 'tether.identity'

function adoptIdentity(user: AccountUser): void {
  try {
    const current = JSON.parse(localStorage.getItem(IDENTITY_KEY) ?? 'null') as { userId?: string; color?: string } | null
    if (current?.userId === user.id) return
    localStorage.setItem(IDENTITY_KEY, JSON.stringify({ userId: user.id, displayName: user.name ?? user.email ?? 'Me', ...(current?.color ? { color: current.color } : {}) }))
  } catch {
    // storage unavailable: sessions use a per-page identity
  }
}

export function useAccount(): AccountState {
  const [state, setState] = useState<AccountState>({ loaded: false, user: null, providers: [] })
  useEffect(() => {
    let cancelled = false
    fetch('/api/auth/me', { credentials: 'same-origin' })
      .then((r) => (r.ok ? (r.json() as Promise<{ user: AccountUser | null; providers: string[] }>) : { user: null, providers: [] }))
      .then(
        (me) => {
          if (cancelled) return
          if (me.user) adoptIdentity(me.user)
          setState({ loaded: true, user: me.user, providers: me.providers })
        },
        () => !cancelled && setState({ loaded: true, user: null, providers: [] }),
      )
    return () => {
      cancelled = true
    }
  }, [])
  return state
}

export async function signOut(): Promise<void> {
  await fetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin' })
  try {
    localStorage.removeItem(IDENTITY_KEY)
  } catch {
    // nothing kept
  }
}
