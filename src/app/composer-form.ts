/**
 * The message composer before the page's JavaScript runs (issue 10, "interactive in under 1 s"):
 * the server renders it as a real form whose Send posts natively to POST /sessions/:id/messages
 * (routes/sessions/$sessionId/messages.ts), so a person can type and send from the first paint,
 * and with JavaScript off. Browser-safe: the page's loader data and the form's field names.
 */

/** What the server decided for the page's composer, from the page request's own credentials. */
export interface ComposerGrant {
  /** the token's role may send messages in this session, and the session is live */
  canSend: boolean
  /** why not (the box's placeholder) */
  reason?: string
  /**
   * The page's own token (its `?token=` or `tether_page_token` cookie), as a hidden field: the
   * form's credential (specs/security.md). Absent with sign-in cookies or auth off.
   */
  token?: string
  /** A fresh message id per rendered form: a double submit appends the message once. */
  messageId: string
}

/** The form's target. Under the page's path, so the page-token cookie (Path=/sessions/<id>) is sent too. */
export function composerFormAction(sessionId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}/messages`
}

/** The form's field names. */
export const FORM_FIELDS = { text: 'text', token: 'token', messageId: 'messageId', turn: 'turn' } as const
