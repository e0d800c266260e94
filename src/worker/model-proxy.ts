/**
 * The worker's model proxy (issue #11): a loopback HTTP server that external agent programs
 * (`opencode serve`, Claude Code) use as their provider base URL. It forwards
 *   /anthropic/<rest>  → <serverUrl>/api/sessions/<id>/model/anthropic/<rest>
 *   /openai/<rest>     → <serverUrl>/api/sessions/<id>/model/openai/v1/<rest>
 * adding the worker token and the current turn's x-request-id, and dropping any credential the
 * program sent. Why: the program runs as the sandbox user and its tools can read its
 * environment; it is given a dummy key and this URL, never the worker token (specs/gateway.md,
 * "Native wire endpoints"). Bodies stream both ways (SSE answers arrive as the model writes).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { TurnRequestId } from './request-id'

export interface ModelProxyOptions {
  /** The server's origin as the worker reaches it (the docker server link's origin included). */
  serverUrl: string
  sessionId: string
  /** The worker token: added to every forwarded request, never handed to the program. */
  token: string
  /** The hosted agent's turn id holder: its x-request-id goes on every forwarded call. */
  requestId?: TurnRequestId
  fetch?: typeof fetch
}

export interface ModelProxy {
  /** An Anthropic base URL: `<anthropic>/v1/messages` works. */
  anthropic: string
  /** An OpenAI base URL: `<openai>/chat/completions` works. */
  openai: string
  close(): Promise<void>
}

/**
 * Request headers never forwarded: credentials (the program's dummy key, or a real one it found:
 * the server must only ever see the worker token), hop-by-hop ones, and those fetch sets itself.
 */
const DROPPED_REQUEST = new Set([
  'authorization',
  'proxy-authorization',
  'x-api-key',
  'api-key',
  'cookie',
  'x-request-id',
  'host',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'accept-encoding',
])
/** fetch has already decoded the body, so its length and encoding headers no longer hold. */
const DROPPED_RESPONSE = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive'])

/** `/anthropic/v1/messages` → `anthropic/v1/messages`; `/openai/chat/completions` → `openai/v1/chat/completions`. */
export function upstreamPath(path: string): string | null {
  const m = /^\/(anthropic|openai)(\/[^?#]*)?(\?.*)?$/.exec(path)
  if (!m) return null
  const rest = (m[2] ?? '').replace(/^\/+/, '')
  if (!rest) return null
  return m[1] === 'anthropic' ? `anthropic/${rest}${m[3] ?? ''}` : `openai/v1/${rest}${m[3] ?? ''}`
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
  res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message } }))
}

export async function startModelProxy(opts: ModelProxyOptions): Promise<ModelProxy> {
  const fetchImpl = opts.fetch ?? fetch
  const base = `${opts.serverUrl.replace(/\/+$/, '')}/api/sessions/${encodeURIComponent(opts.sessionId)}/model/`
  // The upstream must stay under this session's model endpoints: `..` (plain or encoded) is resolved
  // by the URL parser, and anything that lands elsewhere is refused.
  const basePath = new URL(base).pathname

  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rest = upstreamPath(req.url ?? '/')
    if (!rest) return refuse(res, 404, 'the model proxy serves /anthropic/… and /openai/… only')
    const target = new URL(rest, base)
    if (!target.pathname.startsWith(basePath) || target.origin !== new URL(base).origin) {
      return refuse(res, 400, 'that path leaves the model endpoints')
    }
    if (req.method !== 'GET' && req.method !== 'POST') return refuse(res, 405, `method ${req.method} not allowed`)

    const headers = new Headers()
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || DROPPED_REQUEST.has(name)) continue
      headers.set(name, Array.isArray(value) ? value.join(', ') : value)
    }
    headers.set('authorization', `Bearer ${opts.token}`)
    const turn = opts.requestId?.get()
    if (turn !== undefined) headers.set('x-request-id', turn)

    // The program hanging up (a cancelled turn) aborts the server call, which aborts the provider's.
    const controller = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new Error('the agent program went away'))
    })
    const hasBody = req.method === 'POST'
    let upstream: Response
    try {
      upstream = await fetchImpl(target, {
        method: req.method,
        headers,
        signal: controller.signal,
        ...(hasBody
          ? // Streamed, not buffered: a long conversation is not held twice. (`duplex` is Node's fetch extension.)
            { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: 'half' }
          : {}),
      } as RequestInit)
    } catch (err) {
      if (controller.signal.aborted) return
      res.writeHead(502, { 'content-type': 'application/json; charset=utf-8' })
      res.end(
        JSON.stringify({
          type: 'error',
          error: { type: 'api_error', message: `the model proxy could not reach the server: ${(err as Error).message}` },
        }),
      )
      return
    }

    const out: Record<string, string> = {}
    upstream.headers.forEach((value, name) => {
      if (!DROPPED_RESPONSE.has(name)) out[name] = value
    })
    res.writeHead(upstream.status, out)
    res.flushHeaders()
    if (!upstream.body) return void res.end()
    const reader = upstream.body.getReader()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        // Written as it comes: each SSE event reaches the program when the model produced it.
        if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve))
      }
      res.end()
    } catch {
      // Either end went away mid-stream; the other side sees the connection close.
      res.destroy()
    } finally {
      reader.releaseLock()
    }
  }

  const server: Server = createServer((req, res) => {
    forward(req, res).catch(() => res.destroy())
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Loopback only: for this worker's own programs.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const origin = `http://127.0.0.1:${port}`
  return {
    anthropic: `${origin}/anthropic`,
    openai: `${origin}/openai`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
