import { useEffect, useState } from 'react'
import { decodeToken } from '../../lib/sessions/client/auth'
import { shareLink } from '../../lib/sessions/client/api'

/**
 * The link to hand to a collaborator: asked of the server (a collaborator token for this
 * session); without auth on the server, the plain page address works for anyone.
 */
export function useShareLink(sessionId: string, token: string | undefined, open: boolean): { url?: string; note?: string } {
  const [state, setState] = useState<{ url?: string; note?: string }>({})
  useEffect(() => {
    if (!open) return
    let cancelled = false
    const page = `${location.origin}/sessions/${encodeURIComponent(sessionId)}`
    if (!token) {
      setState({ url: page, note: 'The server runs without authentication: anyone who can reach it can open this link.' })
      return
    }
    shareLink(token, sessionId).then(
      (r) => {
        if (cancelled) return
        const url = r.url ? new URL(r.url, location.origin).toString() : r.token ? `${page}?token=${encodeURIComponent(r.token)}` : undefined
        setState(url ? { url } : { note: 'The server did not return a share link.' })
      },
      (err: unknown) => {
        if (cancelled) return
        const info = decodeToken(token)
        // A collaborator can pass on the link it came with.
        if (info?.role === 'collaborator' && !info.sub) setState({ url: `${page}?token=${encodeURIComponent(token)}` })
        else setState({ note: `Could not get a share link: ${err instanceof Error ? err.message : String(err)}` })
      },
    )
    return () => {
      cancelled = true
    }
  }, [sessionId, token, open])
  return state
}
