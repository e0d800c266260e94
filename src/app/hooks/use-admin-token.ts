/**
 * The admin token, known only in the browser (localStorage, or `?token=` once). The page asks
 * for nothing until it knows the token is an admin's for all sessions.
 */
import { useEffect, useState } from 'react'
import { decodeToken, rememberToken, storedToken } from '../../lib/sessions/client/auth'

export function useAdminToken(urlToken: string | undefined): { token?: string; ready: boolean; isAdmin: boolean } {
  const [state, setState] = useState<{ token?: string; ready: boolean }>({ ready: false })
  useEffect(() => {
    if (urlToken) rememberToken(urlToken)
    setState({ token: urlToken ?? storedToken(), ready: true })
  }, [urlToken])
  const info = decodeToken(state.token)
  return { ...state, isAdmin: info?.role === 'admin' && info.sid === '*' }
}
