import { useEffect, useState } from 'react'
import { decodeToken, rememberToken, scrubCredentialsFromAddressBar, storedToken, type TokenInfo } from '../../lib/sessions/client/auth'
import { joinSession } from '../../lib/sessions/client/api'
import { resolveIdentity } from '../../lib/sessions/client/identity'
import { rememberShareToken } from '../../lib/sessions/client/share'
import { rememberPageToken } from '../page-token-cookie'

export interface SessionAuth {
  /** resolved (undefined while resolving, or when the server runs without auth) */
  token?: string
  info?: TokenInfo
  resolving: boolean
  error?: string
  canWrite: boolean
}

/**
 * The token useSessionToken settles on without asking the server (a readable personal or admin
 * link, an unreadable link passed on, or none and the remembered one), so the page can start
 * opening its connection while it hydrates; undefined when it depends on a join.
 */
export function tokenKnownNow(sessionId: string, urlToken: string | undefined): { token: string | undefined } | undefined {
  if (!urlToken) return { token: storedToken(sessionId) }
  const info = decodeToken(urlToken)
  if (!info) return { token: urlToken }
  if (info.sub || info.role === 'admin') return { token: urlToken }
  return undefined
}

/**
 * The token this page uses for a session: a personal token from the link, else one remembered
 * for the session or the admin token. A share link's token (a collaborator token without a user)
 * is exchanged once for a personal one (POST /api/sessions/<id>/join), which is remembered, so a
 * reload keeps the same identity. Once the token is remembered, `?token=` leaves the address bar
 * (the effect then runs again without it and finds the remembered token).
 */
export function useSessionToken(sessionId: string, urlToken: string | undefined): SessionAuth {
  const [state, setState] = useState<SessionAuth>({ resolving: true, canWrite: false })
  useEffect(() => {
    let cancelled = false
    const done = (token: string | undefined, error?: string) => {
      if (cancelled) return
      const info = decodeToken(token)
      setState({
        token,
        info,
        resolving: false,
        error,
        canWrite: !info || info.role === 'admin' || (info.role === 'collaborator' && !!info.sub),
      })
    }
    const info = decodeToken(urlToken)
    if (urlToken && info && (info.sub || info.role === 'admin')) {
      const kept = rememberToken(urlToken)
      done(urlToken)
      if (kept) scrubCredentialsFromAddressBar()
    } else if (urlToken && info && info.role === 'viewer') {
      // A view link is exchanged (join) for a personal viewer token, so this person can show up
      // under "Here now" as watching; if that fails the link still reads.
      const personal = storedToken(sessionId)
      const personalInfo = decodeToken(personal)
      if (personal && personalInfo?.role === 'viewer' && personalInfo.sub && personalInfo.sid === sessionId) {
        done(personal)
        scrubCredentialsFromAddressBar()
      } else {
        const keepLink = () => {
          const kept = rememberToken(urlToken)
          done(urlToken)
          if (kept && !cancelled) scrubCredentialsFromAddressBar()
        }
        joinSession(urlToken, sessionId, resolveIdentity(undefined).displayName).then(({ token }) => {
          const kept = rememberToken(token)
          done(token)
          if (kept && !cancelled) scrubCredentialsFromAddressBar()
        }, keepLink)
      }
    } else if (urlToken && info && info.role === 'collaborator' && !info.sub) {
      // Kept so the Share button can pass the link on once it has left the address bar.
      if (info.sid === sessionId) rememberShareToken(sessionId, urlToken)
      const personal = storedToken(sessionId)
      const personalInfo = decodeToken(personal)
      if (personal && personalInfo?.sub && personalInfo.sid === sessionId) {
        done(personal)
        scrubCredentialsFromAddressBar()
      } else {
        joinSession(urlToken, sessionId, resolveIdentity(undefined).displayName).then(
          ({ token }) => {
            const kept = rememberToken(token)
            done(token)
            if (kept && !cancelled) scrubCredentialsFromAddressBar()
          },
          (err: unknown) => done(urlToken, `Could not join with this link: ${err instanceof Error ? err.message : String(err)}`),
        )
      }
    } else if (urlToken) {
      // Not a token we can read: pass it on and let the server judge it.
      done(urlToken)
    } else {
      done(storedToken(sessionId))
    }
    return () => {
      cancelled = true
    }
  }, [sessionId, urlToken])
  // The token the page settled on, for the next load's server-rendered preview (page-token-cookie.ts).
  useEffect(() => {
    if (!state.resolving) rememberPageToken(sessionId, state.token, state.info?.exp)
  }, [sessionId, state.resolving, state.token, state.info?.exp])
  return state
}
