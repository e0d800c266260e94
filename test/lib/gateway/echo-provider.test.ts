/** The echo provider: the offline, deterministic test double for paid LLM APIs. */
import { describe, expect, it } from 'vitest'
import { EchoProvider, echoPlan } from '../../../src/lib/gateway/echo'
import type { ProviderEvent as StepEvent, StepRequest } from '../../../src/lib/gateway/types'
import { collect } from './support'
import { TOOL_SPECS } from '../../../src/worker/tools'

const tools = Object.values(TOOL_SPECS)
const request = (text: string, extra: Partial<StepRequest> = {}): StepRequest => ({
  model: 'echo',
  system: '',
  messages: [{ role: 'user', content: [{ type: 'text', text }] }],
  tools,
  signal: new AbortController().signal,
  ...extra,
})

describe('echo provider', () => {
  it('streams the echoed message a word at a time and reports usage', async () => {
    const events = await collect(new EchoProvider().step(request('hello brave new world')))
    const texts = events.filter((e) => e.type === 'text')
    expect(texts.length).toBe(5)
    expect(texts.map((e) => (e as { text: string }).text).join('')).toBe('Echo: hello brave new world')
    const usage = events.find((e) => e.type === 'usage') as Extract<StepEvent, { type: 'usage' }>
    // Tokens only: the gateway prices them (echo at $1 per million, see gateway.test.ts).
    expect(usage.usage).toEqual({ inputTokens: 4, outputTokens: 5 })
  })

  it('asks for a shell tool call on /run and tool:', async () => {
    for (const text of ['/run ls -la', 'tool: ls -la']) {
      const events = await collect(new EchoProvider().step(request(text)))
      expect(events.find((e) => e.type === 'tool_call')).toEqual({ type: 'tool_call', name: 'shell', input: { command: 'ls -la' } })
    }
  })

  it('refuses a tool the session does not allow', () => {
    const plan = echoPlan(request('/run ls', { tools: [TOOL_SPECS.read_file] }))
    expect(plan.toolCall).toBeUndefined()
    expect(plan.text).toMatch(/not allowed/)
  })

  it('continues after a prefill instead of starting over (resume after a restart)', async () => {
    const events = await collect(new EchoProvider().step(request('/count 10', { prefill: '1 2 3 4 ' })))
    const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('')
    expect(text).toBe('5 6 7 8 9 10')
  })

  it('reports a tool result it was given', () => {
    const plan = echoPlan(
      request('', {
        messages: [
          { role: 'user', content: [{ type: 'text', text: '/run ls' }] },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'shell', input: { command: 'ls' } }] },
          { role: 'user', content: [{ type: 'tool_result', toolUseId: 'c1', content: 'a.txt', isError: false }] },
        ],
      }),
    )
    expect(plan.text).toBe('shell succeeded:\na.txt')
  })

  it('stops when its signal aborts', async () => {
    const controller = new AbortController()
    const seen: string[] = []
    const run = (async () => {
      for await (const e of new EchoProvider().step(request('/slow /count 100', { signal: controller.signal }))) {
        if (e.type === 'text') seen.push(e.text)
        if (seen.length === 3) controller.abort(new Error('cancel'))
      }
    })()
    await expect(run).rejects.toThrow('cancel')
    expect(seen.length).toBe(3)
  })

  it("streams at most maxTokens words, like a real model, so the gateway's worst case holds", async () => {
    const events = await collect(new EchoProvider().step(request('/count 50', { maxTokens: 7 })))
    expect(
      events
        .filter((e) => e.type === 'text')
        .map((e) => (e as { text: string }).text)
        .join(''),
    ).toBe('1 2 3 4 5 6 7 ')
    expect(events.at(-1)).toEqual({ type: 'usage', usage: { inputTokens: 2, outputTokens: 7 } })
  })
})
