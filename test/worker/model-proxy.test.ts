/**
 * The worker's model proxy (src/worker/model-proxy.ts) in front of the real app over loopback
 * (SQLite file, echo provider as the offline test double): an agent program calls it with no
 * credential or a wrong one, and the server sees only the worker token the proxy holds.
 */
import Anthropic from '@anthropic-ai/sdk'
import { request as httpRequest } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_MODEL_BODY_BYTES } from '../../src/lib/gateway/request'
import { readSse } from '../../src/lib/gateway/sse'
import { startModelProxy, upstreamPath, type ModelProxy } from '../../src/worker/model-proxy'
import { TurnRequestId } from '../../src/worker/request-id'
import { createSession, startHarness, type Harness } from '../lib/sessions/harness'

let h: Harness
let id = ''
let proxy: ModelProxy
const seen: Headers[] = []
const turn = new TurnRequestId()

beforeAll(async () => {
  h = await startHarness('builtin')
  id = await createSession(h, {
    agents: [
      { id: 'a', model: 'echo' },
      { id: 'b', model: 'echo:b' },
    ],
  })
  const token = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'a' })
  // Records what the proxy sends on: the server's view of each call's headers.
  const recording: typeof fetch = (input, init) => {
    seen.push(new Headers(init?.headers))
    return fetch(input, init)
  }
  proxy = await startModelProxy({ serverUrl: h.url, sessionId: id, token, requestId: turn, fetch: recording })
})
afterAll(async () => {
  await proxy?.close()
  await h?.close()
})

describe('worker model proxy', () => {
  it('maps its base URLs onto the session gateway paths', () => {
    expect(upstreamPath('/anthropic/v1/messages')).toBe('anthropic/v1/messages')
    expect(upstreamPath('/anthropic/v1/messages/count_tokens?beta=true')).toBe('anthropic/v1/messages/count_tokens?beta=true')
    expect(upstreamPath('/openai/chat/completions')).toBe('openai/v1/chat/completions')
    expect(upstreamPath('/openai/models')).toBe('openai/v1/models')
    expect(upstreamPath('/openai')).toBeNull()
    expect(upstreamPath('/api/sessions')).toBeNull()
  })

  it('answers an Anthropic client that holds no real credential, adding the worker token and the turn id', async () => {
    turn.set('m_proxy1', 'a')
    seen.length = 0
    const sdk = new Anthropic({ baseURL: proxy.anthropic, apiKey: 'dummy', maxRetries: 0 })
    const message = await sdk.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'through the proxy' }] })
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: through the proxy' }])
    expect(seen).toHaveLength(1)
    expect(seen[0]?.get('authorization')).toMatch(/^Bearer ey/)
    expect(seen[0]?.get('x-request-id')).toBe('turn:m_proxy1@a')
    turn.set(undefined)
  })

  it("does not forward the caller's own credential: another agent's worker token sent as Bearer and x-api-key still calls as the proxy's agent", async () => {
    const before = h.app.ledger.calls(id).length
    seen.length = 0
    const other = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'b' })
    const res = await fetch(`${proxy.openai}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${other}`, 'x-api-key': other, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'echo:b', messages: [{ role: 'user', content: 'who am I' }] }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ model: 'echo', choices: [{ message: { content: 'Echo: who am I' } }] })
    expect(seen[0]?.get('authorization')).not.toContain(other)
    expect(seen[0]?.has('x-api-key')).toBe(false)
    expect(h.app.ledger.calls(id).slice(before).map((r) => r.agentId)).toEqual(['a'])
  })

  it('streams: the first event arrives while the call is still running, and hanging up aborts the call', async () => {
    // 300 slow words (40 ms each): the call runs for seconds after its first word.
    const res = await fetch(`${proxy.openai}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', stream: true, messages: [{ role: 'user', content: '/slow /count 300' }] }),
    })
    expect(res.status).toBe(200)
    const records = readSse(res.body!)[Symbol.asyncIterator]()
    let first = await records.next()
    // Skip the role chunk: wait for the first word of text.
    while (!first.done && !JSON.parse(first.value.data).choices?.[0]?.delta?.content) first = await records.next()
    expect(JSON.parse(first.value.data).choices[0].delta.content).toBe('1 ')
    // The gateway settles the ledger row when the provider is done: still running means unbuffered.
    expect(h.app.ledger.calls(id).at(-1)?.status).toBe('running')
    // The program hangs up (a cancelled turn): the proxy aborts the server call, which settles it.
    await records.return?.()
    await res.body?.cancel().catch(() => {})
    await expect.poll(() => h.app.ledger.calls(id).at(-1)?.status).toBe('aborted')
  })

  it('passes an over-size body on to the refusal (413 with a reason, nothing called) and keeps serving', async () => {
    turn.set('m_proxy_big', 'a')
    const before = h.app.ledger.calls(id).length
    const text = 'x'.repeat(MAX_MODEL_BODY_BYTES + 1024)
    const res = await fetch(`${proxy.anthropic}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'dummy' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: text }] }),
    })
    expect(res.status).toBe(413)
    const body = (await res.json()) as { type: string; error: { type: string; message: string } }
    expect(body).toMatchObject({ type: 'error', error: { type: 'request_too_large' } })
    expect(body.error.message).toMatch(/\d/)
    expect(h.app.ledger.calls(id)).toHaveLength(before)
    // The proxy, the server and the session are all still there: the next call answers.
    const sdk = new Anthropic({ baseURL: proxy.anthropic, apiKey: 'dummy', maxRetries: 0 })
    const message = await sdk.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'after the big one' }] })
    expect(message.content).toEqual([{ type: 'text', text: 'Echo: after the big one' }])
    expect((await h.app.manager.get(id))?.status).toBe('active')
    turn.set(undefined)
  })

  it('refuses paths outside the model endpoints', async () => {
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(proxy.anthropic)
        const req = httpRequest({ host: u.hostname, port: u.port, path, method: 'POST' }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end('{}')
      })
    expect(await status('/anthropic/../../terminate')).toBe(400)
    expect(await status('/anthropic/%2e%2e/%2e%2e/terminate')).toBe(400)
    expect(await status('/elsewhere')).toBe(404)
    expect((await h.app.manager.get(id))?.status).toBe('active')
  })
})
