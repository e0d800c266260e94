/**
 * The gateway's native Anthropic Messages endpoint (issue #11) driven by the official
 * `@anthropic-ai/sdk` client over real HTTP on loopback: the whole app with its SQLite file and
 * the echo provider (offline test double for the paid APIs, $1 per million tokens).
 */
import Anthropic from '@anthropic-ai/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession, startHarness, type Harness } from '../sessions/harness'
import { expectOnlyItsAgentsServed } from './native-support'

let h: Harness
beforeAll(async () => {
  h = await startHarness('builtin')
})
afterAll(() => h?.close())

const workerToken = (sessionId: string, agentId: string) => h.app.issueToken({ role: 'worker', sessionId, subject: agentId })
const base = (id: string) => `${h.url}/api/sessions/${id}/model/anthropic`

/** The SDK as a program would hold it: the gateway's URL, the worker token as its key, no retries. */
const client = (id: string, token: string, auth: 'x-api-key' | 'bearer' = 'x-api-key') =>
  new Anthropic({ baseURL: base(id), maxRetries: 0, ...(auth === 'x-api-key' ? { apiKey: token } : { apiKey: null, authToken: token }) })

const twoAgents = () =>
  createSession(h, {
    agents: [
      { id: 'a', model: 'echo' },
      { id: 'b', model: 'echo:b' },
    ],
  })

describe('native Anthropic endpoint', () => {
  it('streams text as Messages API events, serving the agent model whatever the request names, and records the call for the agent', async () => {
    const id = await twoAgents()
    const sdk = client(id, await workerToken(id, 'a'))
    const seen: string[] = []
    const stream = sdk.messages.stream({
      model: 'claude-opus-4-1', // a pricier model than the agent's: ignored
      max_tokens: 100,
      system: [{ type: 'text', text: 'be brief' }],
      messages: [{ role: 'user', content: 'hello there' }],
    })
    stream.on('text', (t) => seen.push(t))
    const message = await stream.finalMessage()
    expect(seen.join('')).toBe('Echo: hello there')
    expect(seen.length).toBeGreaterThan(1)
    expect(message).toMatchObject({ role: 'assistant', model: 'echo', stop_reason: 'end_turn', content: [{ type: 'text', text: 'Echo: hello there' }] })
    expect(message.usage.output_tokens).toBe(3)

    const rows = h.app.ledger.calls(id)
    expect(rows.map((r) => [r.agentId, r.status, r.model, r.outputTokens])).toEqual([['a', 'ok', 'echo:echo', 3]])
  })

  it('answers without streaming, with the worker token as a bearer token or in x-api-key (what Claude Code sends)', async () => {
    const id = await twoAgents()
    const token = await workerToken(id, 'b')
    const sdk = client(id, token, 'bearer')
    const message = await sdk.messages.create({ model: 'whatever', max_tokens: 50, messages: [{ role: 'user', content: '/count 4' }] })
    expect(message.content).toEqual([{ type: 'text', text: '1 2 3 4' }])
    expect(message.model).toBe('echo:b')

    const viaKey = await fetch(`${base(id)}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': token, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(viaKey.status).toBe(200)
    expect(await viaKey.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'Echo: hi' }] })
    expect(h.app.ledger.calls(id).map((r) => r.agentId)).toEqual(['b', 'b'])
  })

  it('round-trips a tool call: echo /run asks for the Bash tool a program offers, then reports its result', async () => {
    const id = await twoAgents()
    const sdk = client(id, await workerToken(id, 'a'))
    const tools: Anthropic.Tool[] = [
      { name: 'Bash', description: 'run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
      { name: 'Read', description: 'read a file', input_schema: { type: 'object', properties: { file_path: { type: 'string' } } } },
    ]
    // Claude Code puts its reminders in text blocks of the user's message: the person's text decides.
    const first = await sdk.messages
      .stream({
        model: 'claude-sonnet-4-6',
        max_tokens: 200,
        tools,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: '<system-reminder>the todo list is empty</system-reminder>' },
              { type: 'text', text: '/run ls -la' },
              { type: 'text', text: '<system-reminder>mind the tone</system-reminder>' },
            ],
          },
        ],
      })
      .finalMessage()
    expect(first.stop_reason).toBe('tool_use')
    const use = first.content.find((b) => b.type === 'tool_use')
    expect(use).toMatchObject({ type: 'tool_use', name: 'Bash', input: { command: 'ls -la', description: 'Run ls -la' } })
    if (use?.type !== 'tool_use') throw new Error('no tool_use')
    expect(use.id).toMatch(/^toolu_/)

    const second = await sdk.messages.create({
      model: 'claude-sonnet-4-6',
      max_tokens: 200,
      tools,
      messages: [
        { role: 'user', content: '/run ls -la' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: [{ type: 'text', text: 'a.txt\nb.txt' }] }] },
      ],
    })
    expect(second.content).toEqual([{ type: 'text', text: 'Bash succeeded:\na.txt\nb.txt' }])
    expect(h.app.ledger.calls(id).map((r) => r.status)).toEqual(['ok', 'ok'])
  })

  it('counts tokens with the gateway estimate', async () => {
    const id = await twoAgents()
    const sdk = client(id, await workerToken(id, 'a'))
    const counted = await sdk.messages.countTokens({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'x'.repeat(400) }] })
    expect(counted.input_tokens).toBeGreaterThanOrEqual(100)
    expect(h.app.ledger.calls(id)).toEqual([])
  })

  it("refuses past the agent's budget with 402 in Anthropic's error shape, and the SDK surfaces it without retrying", async () => {
    const id = await createSession(h, {
      agents: [
        { id: 'a', model: 'echo', limits: { maxBudgetUsd: 0.0001 } },
        { id: 'b', model: 'echo:b' },
      ],
    })
    const sdk = new Anthropic({ baseURL: base(id), apiKey: await workerToken(id, 'a'), maxRetries: 2 })
    const err = await sdk.messages.create({ model: 'x', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Anthropic.APIError)
    const api = err as InstanceType<typeof Anthropic.APIError>
    expect(api.status).toBe(402)
    expect(api.error).toMatchObject({ type: 'error', error: { type: 'billing_error' }, reason: 'agent-budget', agentId: 'a' })
    expect(api.message).toMatch(/agent a: budget: this call may cost up to/)
    // One refused row: the SDK did not retry (x-should-retry: false).
    expect(h.app.ledger.calls(id).map((r) => [r.agentId, r.status])).toEqual([['a', 'refused']])
  })

  it('answers a bad body with 400 invalid_request_error naming the field', async () => {
    const id = await twoAgents()
    const token = await workerToken(id, 'a')
    const post = (body: unknown) => h.request(`/api/sessions/${id}/model/anthropic/v1/messages`, { token, json: body })
    const missing = await post({ model: 'x', messages: [{ role: 'user', content: 'hi' }] })
    expect(missing.status).toBe(400)
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/^max_tokens: /) } })
    const image = await post({
      model: 'x',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] }],
    })
    expect(image.status).toBe(400)
    expect(((await image.json()) as { error: { message: string } }).error.message).toMatch(/messages\.0\.content\.0: blocks of type image are not supported/)
    const notJson = await h.request(`/api/sessions/${id}/model/anthropic/v1/messages`, { token, body: '{', headers: { 'content-type': 'application/json' } })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } })
    const unknown = await h.request(`/api/sessions/${id}/model/anthropic/v1/complete`, { token, json: {} })
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } })
    expect(h.app.ledger.calls(id)).toEqual([])
  })

  it('refuses every caller but the session’s own agents: viewer, collaborator, admin, another session’s worker, a non-agent worker, no token', async () => {
    await expectOnlyItsAgentsServed(h, twoAgents, async (id, token) => {
      const got: Record<string, number> = {}
      for (const path of ['v1/messages', 'v1/messages/count_tokens']) {
        const res = await h.request(`/api/sessions/${id}/model/anthropic/${path}`, {
          ...(token ? { token } : {}),
          json: { model: 'x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
        })
        got[path] = res.status
      }
      return got
    })
  })
})
