/** Helpers for driving a subscriptions instance through its Request/Response router. */
import type { Subscriptions } from '../../../../src/lib/streams/subscriptions'

export const BASE = 'http://streams.test/v1/stream/'
export const streamUrl = (path: string) => `${BASE}${path}`

// biome-ignore lint/suspicious/noExplicitAny: test convenience: bodies are asserted field by field
type LooseJson = any

export async function call(
  subs: Subscriptions,
  method: string,
  subPath: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; json: LooseJson }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const req = new Request(streamUrl(`__ds/${subPath}`), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const res = await subs.handle(req, subPath, streamUrl)
  const text = await res.text()
  return { status: res.status, json: text ? (JSON.parse(text) as LooseJson) : null }
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export interface RecordedWebhook {
  url: string
  headers: Record<string, string>
  rawBody: string
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, asserted field by field
  body: any
}

/**
 * Test double for the webhook transport (a `fetch` stand-in): records each POST and answers
 * with whatever `respond` returns.
 */
export function recordingFetch(respond: (hook: RecordedWebhook) => { status: number; body?: unknown } | Error) {
  const received: RecordedWebhook[] = []
  const fetchDouble = (async (input: string | URL | Request, init?: RequestInit) => {
    const rawBody = String(init?.body ?? '')
    const hook: RecordedWebhook = {
      url: String(input),
      headers: Object.fromEntries(new Headers(init?.headers).entries()),
      rawBody,
      body: JSON.parse(rawBody),
    }
    received.push(hook)
    const answer = respond(hook)
    if (answer instanceof Error) throw answer
    return new Response(answer.body === undefined ? '' : JSON.stringify(answer.body), { status: answer.status })
  }) as typeof fetch
  return { fetch: fetchDouble, received }
}
