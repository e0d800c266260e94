/**
 * Response headers every Tether answer carries (issue #8: a page must not leak its address, be
 * framed, or run injected script). Web-standard only: used by the TanStack Start request
 * middleware (src/app/start.ts, dev and production alike) and by the production entry for static
 * files (src/server/main.ts).
 */

/** A fresh per-response nonce for the page's inline scripts (128 bits, base64). */
export function newCspNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return btoa(String.fromCharCode(...bytes))
}

/**
 * The page policy. Scripts: our own files plus inline scripts carrying this response's nonce
 * (TanStack Start's hydration data and the theme boot script get it through the router's
 * ssr.nonce). Styles allow 'unsafe-inline': server-rendered React `style=` attributes and xterm's
 * injected <style> need it, and CSS cannot run script. No framing, no plugins, no <base>
 * rewriting, forms and fetches to this origin only (SSE, the dev server's websocket included).
 */
function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** Headers for every response: no MIME sniffing, no Referer (links carry tokens). */
const COMMON_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const isHtml = (res: Response) => (res.headers.get('content-type') ?? '').toLowerCase().startsWith('text/html')

/**
 * Adds the common headers, and the CSP (with `nonce`) to HTML answers. Keeps headers a handler
 * already set. Headers of some responses (fetch results, Response.redirect) are immutable: those
 * are copied into a new Response around the same body.
 */
export function withSecurityHeaders(res: Response, nonce?: string): Response {
  const add: Record<string, string> = { ...COMMON_SECURITY_HEADERS }
  if (isHtml(res)) {
    // Without a nonce (an HTML answer we did not render) no inline script runs at all.
    add['content-security-policy'] = contentSecurityPolicy(nonce || newCspNonce())
  }
  const missing = Object.entries(add).filter(([name]) => !res.headers.has(name))
  if (missing.length === 0) return res
  try {
    for (const [name, value] of missing) res.headers.set(name, value)
    return res
  } catch {
    const headers = new Headers(res.headers)
    for (const [name, value] of missing) headers.set(name, value)
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers })
  }
}
