/**
 * Share tokens (collaborator tokens without a user) this browser was given when it created a
 * session, kept so the session's "Share" button can hand out the link later.
 */
const key = (sessionId: string) => `tether.share.${sessionId}`

export function rememberShareToken(sessionId: string, token: string): void {
  try {
    localStorage.setItem(key(sessionId), token)
  } catch {
    // storage unavailable: the link is only shown at creation
  }
}

export function rememberedShareToken(sessionId: string): string | undefined {
  try {
    return localStorage.getItem(key(sessionId)) ?? undefined
  } catch {
    return undefined
  }
}
