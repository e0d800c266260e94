import { useEffect, useState } from 'react'
import { sessionPagePath } from '../../lib/common/session-contract'
import { decodeToken } from '../../lib/sessions/client/auth'
import { fetchShareToken, rememberShareToken, rememberedShareToken, shareRefusal } from '../../lib/sessions/client/share'

export interface ShareLinkState {
  url?: string
  note?: string
  /** asking the server for a link */
  loading?: boolean
}

/** A link with an expired token would only bring a 401 to whoever opens it: ask for a fresh one. */
function expired(token: string): boolean {
  const exp = decodeToken(token)?.exp
  return exp !== undefined && exp * 1000 <= Date.now()
}

/**
 * The link to hand to a collaborator while the Share dialog is open: the share token this browser
 * holds (it created the session, or came in through a share link), else a fresh one from
 * `GET /api/sessions/:id/share` (admins and collaborators may; it is remembered). Without auth
 * on the server the plain page address works.
 */
export function useShareLink(sessionId: string, token: string | undefined, urlToken: string | undefined, open: boolean): ShareLinkState {
  const [state, setState] = useState<ShareLinkState>({})
  useEffect(() => {
    if (!open) return
    const page = `${location.origin}${sessionPagePath(sessionId)}`
    if (!token) {
      setState({ url: page, note: 'The server runs without authentication: anyone who can reach it can open this link.' })
      return
    }
    const link = (share: string) => `${page}?token=${encodeURIComponent(share)}`
    const urlInfo = decodeToken(urlToken)
    const held = [
      rememberedShareToken(sessionId),
      urlInfo?.role === 'collaborator' && !urlInfo.sub && urlInfo.sid === sessionId ? urlToken : undefined,
    ].find((t) => t && !expired(t))
    if (held) {
      setState({ url: link(held) })
      return
    }
    const refusal = shareRefusal(decodeToken(token), true)
    if (refusal) {
      setState({ note: refusal })
      return
    }
    let cancelled = false
    setState({ loading: true })
    fetchShareToken(sessionId, token).then(
      (share) => {
        rememberShareToken(sessionId, share)
        if (!cancelled) setState({ url: link(share) })
      },
      (err: unknown) => {
        if (!cancelled) setState({ note: `Could not get a share link: ${err instanceof Error ? err.message : String(err)}` })
      },
    )
    return () => {
      cancelled = true
    }
  }, [sessionId, token, urlToken, open])
  return state
}
