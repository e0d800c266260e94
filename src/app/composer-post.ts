/**
 * POST /sessions/:id/messages: the server-rendered composer's native submit (composer-form.ts),
 * for a Send pressed before the page's JavaScript ran or with JavaScript off. Server only.
 *
 * The message goes through the same door as the live composer's: one `chunk` event (the shape
 * actions.ts's sendMessage builds) POSTed to the session event writer (POST /api/streams?sessionId=)
 * in process, with the form's token as `Authorization: Bearer`, so the writer's checks all apply
 * (token covers the session, role and author rules, rate limit, body size, session live) and the
 * session layer appends the turn record as for any user message. Then 303 back to the page, whose
 * HTML shows the message. A refusal is a small HTML page with the writer's status (4xx) and reason,
 * and the text typed, so nothing is lost.
 *
 * Credential (specs/security.md): the hidden `token` field, the page's own token. Cookies are no
 * credential here, except the sign-in cookie the writer already takes under its own same-origin
 * rule. On top, a request a browser marks as coming from another site (Sec-Fetch-Site, Origin) is
 * refused before anything is read.
 */
import { handleTetherRequest, getTetherServer } from '../lib/tether-server-entry'
import { STREAMS_MOUNT } from '../lib/common/session-contract'
import { HttpError } from '../lib/sessions/http'
import { FORM_FIELDS } from './composer-form'
import { pageTokenFromCookies } from './page-token-cookie'
import { hostEnv, loadSettings } from '../lib/settings'

/** Largest form body read; the writer has its own (smaller or equal) limit on the event. */
const MAX_FORM_BYTES = 1024 * 1024

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c)

let publicOrigin: string | undefined | null = null
/** The configured public URL's origin (behind a proxy the request's own URL may be an inner one). */
function configuredOrigin(): string | undefined {
  if (publicOrigin === null) {
    const url = loadSettings(hostEnv()).server.publicUrl
    publicOrigin = url ? new URL(url).origin : undefined
  }
  return publicOrigin
}

function sessionPage(sessionId: string): string {
  return `/sessions/${encodeURIComponent(sessionId)}`
}

/** The refusal page: status, reason, the words typed (to copy), a link back. */
function refused(status: number, reason: string, sessionId: string, text = ''): Response {
  const back = escapeHtml(sessionPage(sessionId))
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Message not sent · Tether</title></head><body>
<h1>Your message was not sent</h1>
<p data-testid="form-refusal">${escapeHtml(reason)} (${status})</p>
${text ? `<p>What you wrote:</p><textarea readonly rows="6" cols="80">${escapeHtml(text)}</textarea>` : ''}
<p><a href="${back}">Back to the session</a></p>
</body></html>`
  return new Response(body, { status, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } })
}

/** Same-site browser requests only: another site's page must not submit this form. */
function sameSite(req: Request, publicOrigin: string | undefined): boolean {
  const site = req.headers.get('sec-fetch-site')
  if (site !== null) return site === 'same-origin'
  const origin = req.headers.get('origin')
  if (origin === null) return true // not a browser's cross-site form (they send both headers); the token still decides
  return origin === new URL(req.url).origin || origin === publicOrigin
}

async function readForm(req: Request): Promise<URLSearchParams> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') throw new HttpError(415, 'send the form as application/x-www-form-urlencoded')
  const declared = Number(req.headers.get('content-length') ?? 0)
  if (declared > MAX_FORM_BYTES) throw new HttpError(413, 'the message is too long')
  const reader = req.body?.getReader()
  const parts: Uint8Array[] = []
  let size = 0
  while (reader) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_FORM_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw new HttpError(413, 'the message is too long')
    }
    parts.push(value)
  }
  return new URLSearchParams(Buffer.concat(parts).toString('utf8'))
}

async function writerReason(res: Response): Promise<string> {
  const text = await res.text().catch(() => '')
  try {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown }
    const reason = body.error ?? body.message
    if (typeof reason === 'string') return reason
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 500) || res.statusText
}

export async function handleComposerPost(req: Request, sessionId: string): Promise<Response> {
  let text = ''
  try {
    const app = await getTetherServer()
    if (!sameSite(req, configuredOrigin())) throw new HttpError(403, 'this form can only be sent from the session’s own page')
    const form = await readForm(req)
    // A textarea submits line breaks as CRLF; the live composer sends what the box holds (LF), trimmed.
    text = (form.get(FORM_FIELDS.text) ?? '').replace(/\r\n?/g, '\n').trim()
    if (!text) throw new HttpError(400, 'the message is empty')
    const token = form.get(FORM_FIELDS.token) || undefined
    const turnField = form.get(FORM_FIELDS.turn) ?? '0'
    if (!/^\d{1,9}$/.test(turnField)) throw new HttpError(400, 'turn must be a whole number')
    const messageId = form.get(FORM_FIELDS.messageId) || crypto.randomUUID()
    // The writer's own credential rules: the form's token, else a sign-in cookie (with its same-origin check).
    const headers = new Headers({ 'content-type': 'application/json' })
    if (token) headers.set('authorization', `Bearer ${token}`)
    else {
      for (const name of ['cookie', 'origin', 'sec-fetch-site']) {
        const value = req.headers.get(name)
        if (value) headers.set(name, value)
      }
    }
    const writerUrl = new URL(STREAMS_MOUNT, req.url)
    writerUrl.searchParams.set('sessionId', sessionId)
    // The author is the token's subject (the writer refuses any other for a collaborator).
    const claims = await app.auth.authenticate(new Request(writerUrl, { method: 'POST', headers }))
    const author = claims.sub ?? (claims.role === 'admin' ? 'admin' : undefined)
    if (!author) throw new HttpError(403, 'this link cannot send messages until the page has joined the session; open it with JavaScript on once')
    const chunk = {
      id: `${messageId}:0`,
      messageId,
      role: 'user',
      author,
      turn: Number(turnField),
      seq: 0,
      delta: text,
      done: true,
      timestamp: Date.now(),
    }
    const res = await handleTetherRequest(new Request(writerUrl, { method: 'POST', headers, body: JSON.stringify({ channel: 'chunk', data: chunk }) }))
    if (!res.ok) return refused(res.status, await writerReason(res), sessionId, text)
    await res.body?.cancel().catch(() => undefined)
    // Back to the page the form was on: with its `?token=` unless the page-token cookie carries the same token.
    const cookieToken = pageTokenFromCookies(req.headers.get('cookie'))
    const location = token && cookieToken !== token ? `${sessionPage(sessionId)}?token=${encodeURIComponent(token)}` : sessionPage(sessionId)
    return new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store' } })
  } catch (err) {
    if (err instanceof HttpError) return refused(err.status, err.message, sessionId, text)
    throw err
  }
}
