import { useEffect, useState } from 'react'
import { sessionPagePath } from '../../lib/common/session-contract'
import { decodeToken } from '../../lib/sessions/client/auth'
import { rememberedShareToken } from '../../lib/sessions/client/share'

/**
 * The link to hand to a collaborator. The server gives a session's share token (a collaborator
 * token without a user) to whoever creates it; this browser keeps it. Someone who came in through
 * a share link can pass that on. Without auth on the server the plain page address works.
 */
export function useShareLink(
  sessionId: string,
  token: string | undefined,
  urlToken: string | undefined,
  open: boolean,
): { url?: string; note?: string } {
  const [state, setState] = useState<{ url?: string; note?: string }>({})
  useEffect(() => {
    if (!open) return
    const page = `${location.origin}${sessionPagePath(sessionId)}`
    if (!token) {
      setState({ url: page, note: 'The server runs without authentication: anyone who can reach it can open this link.' })
      return
    }
    const urlInfo = decodeToken(urlToken)
    const share =
      rememberedShareToken(sessionId) ??
      (urlInfo?.role === 'collaborator' && !urlInfo.sub && urlInfo.sid === sessionId ? urlToken : undefined)
    if (share) setState({ url: `${page}?token=${encodeURIComponent(share)}` })
    else
      setState({
        note:
          'This browser has no share link for the session: it is handed to whoever creates the session. An admin can print one with `npm run tether -- token --role collaborator --session ' +
          sessionId +
          '`.',
      })
  }, [sessionId, token, urlToken, open])
  return state
}
