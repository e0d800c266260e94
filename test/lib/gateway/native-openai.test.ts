/**
 * The gateway's native OpenAI Chat Completions endpoint (issue #11) over real HTTP on loopback
 * with fetch and an SSE parser of its own (no `openai` package): the whole app with its SQLite
 * file and the echo provider (offline test double for the paid APIs, $1 per million tokens).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSse } from '../../../src/lib/gateway/sse'
import { createSession, startHarness, type Harness } from '../sessions/harness'
import { expectOnlyItsAgentsServed } from './native-support'

let h: Harness
beforeAll(async () => {
  h = await startHarness('builtin')
})
afterAll(() => h?.close())

const workerToken = (sessionId: string, agentId: string) => h.app.issueToken({ role: 'worker', sessionId, subject: agentId })
const path = (id: string, rest: string) => `/api/sessions/${id}/model/openai/v1/${rest}`

const twoAgents = (limitsA: Record<string, unknown> = {}) =>
  createSession(h, {
    agents: [
      { id: 'a', model: 'echo', limits: limitsA },
      { id: 'b', model: 'echo:b' },
    ],
  })

// biome-ignore lint/suspicious/noExplicitAny: chunks as the wire has them, checked field by field below
type Chunk = any

/** The `data:` payloads of an SSE answer, `[DONE]` kept as a string. */
async function chunks(res: Response): Promise<Chunk[]> {
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const out: Chunk[] = []
  for await (const r of readSse(res.body!)) out.push(r.data === '[DONE]' ? '[DONE]' : JSON.parse(r.data))
  return out
}

const bash = {
  type: 'function',
  function: { name: 'bash', description: 'run a command', parameters: { type: 'object', properties: { command: { type: 'string' } } } },
}

describe('native OpenAI endpoint', () => {
  it('streams chat completion chunks with usage last and [DONE], serving the agent model, recorded for the agent', async () => {
    const id = await twoAgents()
    const res = await h.request(path(id, 'chat/completions'), {
      token: await workerToken(id, 'a'),
      json: {
        model: 'gpt-5-pro', // ignored: the agent's model answers
        stream: true,
        stream_options: { include_usage: true },
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: [{ type: 'text', text: 'hello there' }] },
        ],
      },
    })
    expect(res.status).toBe(200)
    const all = await chunks(res)
    expect(all.at(-1)).toBe('[DONE]')
    const data = all.slice(0, -1)
    expect(data.every((c) => c.object === 'chat.completion.chunk' && c.model === 'echo')).toBe(true)
    const text = data.map((c) => c.choices[0]?.delta?.content ?? '').join('')
    expect(text).toBe('Echo: hello there')
    expect(data.filter((c) => c.choices[0]?.delta?.content).length).toBeGreaterThan(1)
    expect(data.at(-2).choices[0].finish_reason).toBe('stop')
    expect(data.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3 } })
    expect(h.app.ledger.calls(id).map((r) => [r.agentId, r.status, r.outputTokens])).toEqual([['a', 'ok', 3]])
  })

  it('round-trips a tool call: echo /run asks for the bash tool opencode offers; the tool message answers it', async () => {
    const id = await twoAgents()
    const token = await workerToken(id, 'b')
    const first = await h.request(path(id, 'chat/completions'), {
      token,
      json: { model: 'x', stream: true, tools: [bash], messages: [{ role: 'user', content: '/run echo hi' }] },
    })
    const data = (await chunks(first)).slice(0, -1)
    const calls = data.flatMap((c) => c.choices[0]?.delta?.tool_calls ?? [])
    expect(calls).toEqual([{ index: 0, id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'bash', arguments: expect.any(String) } }])
    expect(JSON.parse(calls[0].function.arguments)).toEqual({ command: 'echo hi', description: 'Run echo hi' })
    expect(data.at(-1).choices[0].finish_reason).toBe('tool_calls')

    const second = await h.request(path(id, 'chat/completions'), {
      token,
      json: {
        model: 'x',
        tools: [bash],
        messages: [
          { role: 'user', content: '/run echo hi' },
          { role: 'assistant', content: null, tool_calls: [calls[0]].map(({ index: _, ...c }) => c) },
          { role: 'tool', tool_call_id: calls[0].id, content: 'hi\n' },
        ],
      },
    })
    expect(second.status).toBe(200)
    const done = (await second.json()) as Chunk
    expect(done).toMatchObject({ object: 'chat.completion', model: 'echo:b', choices: [{ message: { role: 'assistant', content: 'bash succeeded:\nhi\n' }, finish_reason: 'stop' }] })
    expect(done.usage.total_tokens).toBe(done.usage.prompt_tokens + done.usage.completion_tokens)
  })

  it("lists the calling agent's model", async () => {
    const id = await twoAgents()
    const res = await h.request(path(id, 'models'), { token: await workerToken(id, 'b') })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ object: 'list', data: [{ id: 'echo:b', object: 'model', created: 0, owned_by: 'tether' }] })
  })

  it("refuses past the agent's budget with 402 in OpenAI's error shape", async () => {
    const id = await twoAgents({ maxBudgetUsd: 0.0001 })
    const res = await h.request(path(id, 'chat/completions'), {
      token: await workerToken(id, 'a'),
      json: { model: 'x', max_tokens: 5000, messages: [{ role: 'user', content: 'hi' }] },
    })
    expect(res.status).toBe(402)
    expect(res.headers.get('x-should-retry')).toBe('false')
    const body = (await res.json()) as Chunk
    expect(body).toMatchObject({ error: { type: 'insufficient_quota', code: 'agent-budget' }, reason: 'agent-budget', agentId: 'a' })
    expect(body.error.message).toMatch(/agent a: budget: this call may cost up to/)
    expect(h.app.ledger.calls(id).map((r) => r.status)).toEqual(['refused'])
  })

  it('answers a bad body with 400 in the OpenAI error shape', async () => {
    const id = await twoAgents()
    const token = await workerToken(id, 'a')
    const bad = async (json: unknown, match: RegExp) => {
      const res = await h.request(path(id, 'chat/completions'), { token, json })
      expect(res.status).toBe(400)
      const body = (await res.json()) as Chunk
      expect(body.error.type).toBe('invalid_request_error')
      expect(body.error.message).toMatch(match)
    }
    await bad({ model: 'x', messages: [] }, /^messages: /)
    await bad({ model: 'x', messages: [{ role: 'wizard', content: 'hi' }] }, /^messages\.0\.role: /)
    await bad({ model: 'x', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, /parts of type image_url are not supported/)
    await bad({ model: 'x', messages: [{ role: 'tool', content: 'orphan' }] }, /tool_call_id: required/)
    expect(h.app.ledger.calls(id)).toEqual([])
  })

  it('refuses every caller but the session’s own agents: viewer, collaborator, admin, another session’s worker, a non-agent worker, no token', async () => {
    await expectOnlyItsAgentsServed(h, twoAgents, async (id, token) => {
      const post = await h.request(path(id, 'chat/completions'), { ...(token ? { token } : {}), json: { model: 'x', messages: [{ role: 'user', content: 'hi' }] } })
      const list = await h.request(path(id, 'models'), { ...(token ? { token } : {}) })
      return { 'chat/completions': post.status, models: list.status }
    })
  })
})
