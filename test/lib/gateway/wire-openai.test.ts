/** The OpenAI Chat Completions wire translations (pure): request → StepRequest, StepEvents → chunks / completion. */
import { describe, expect, it } from 'vitest'
import type { StepEvent } from '../../../src/lib/gateway/types'
import { WireError } from '../../../src/lib/gateway/wire-anthropic'
import { fromOpenAi, openAiCompletion, openAiError, OpenAiStreamEncoder } from '../../../src/lib/gateway/wire-openai'

const ids = () => {
  let n = 0
  return () => `call_${++n}`
}

const data = (sse: string) =>
  sse
    .split('\n\n')
    .filter(Boolean)
    .map((l) => l.slice('data: '.length))
    .map((d) => (d === '[DONE]' ? d : JSON.parse(d)))

describe('fromOpenAi', () => {
  it('makes system/developer messages the system prompt, tool calls tool_use blocks and consecutive tool messages one user turn', () => {
    const step = fromOpenAi({
      model: 'gpt-5',
      max_tokens: 50,
      max_completion_tokens: 80,
      messages: [
        { role: 'system', content: 'You are opencode.' },
        { role: 'developer', content: [{ type: 'text', text: 'Be brief.' }] },
        { role: 'user', content: 'two commands' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } },
            { id: 'call_b', type: 'function', function: { name: 'bash', arguments: 'not json' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: 'a.txt' },
        { role: 'tool', tool_call_id: 'call_b', content: [{ type: 'text', text: 'oops' }] },
      ],
      tools: [{ type: 'function', function: { name: 'bash', description: 'run', parameters: { type: 'object' } } }],
    })
    expect(step).toEqual({
      model: 'gpt-5',
      system: 'You are opencode.\n\nBe brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'two commands' }] },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_a', name: 'bash', input: { command: 'ls' } },
            { type: 'tool_use', id: 'call_b', name: 'bash', input: 'not json' },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', toolUseId: 'call_a', content: 'a.txt', isError: false },
            { type: 'tool_result', toolUseId: 'call_b', content: 'oops', isError: false },
          ],
        },
      ],
      tools: [{ name: 'bash', description: 'run', inputSchema: { type: 'object' } }],
      maxTokens: 80,
    })
  })

  it('refuses image parts and tool messages without a call id', () => {
    expect(() => fromOpenAi({ messages: [{ role: 'user', content: [{ type: 'image_url' }] }] })).toThrow(WireError)
    expect(() => fromOpenAi({ messages: [{ role: 'tool', content: 'x' }] })).toThrow('messages.0.tool_call_id: required')
    expect(() => fromOpenAi({ messages: [{ role: 'system', content: 'only a system prompt' }] })).toThrow('no user or assistant content')
  })
})

describe('OpenAiStreamEncoder', () => {
  const events: StepEvent[] = [
    { type: 'text', text: 'Running.' },
    { type: 'tool_call', name: 'bash', input: { command: 'ls' } },
    { type: 'usage', usage: { inputTokens: 5, outputTokens: 1, costUsd: 0 } },
  ]

  it('streams the role, deltas, tool_calls with an index, finish_reason, usage when asked, and [DONE]', () => {
    const enc = new OpenAiStreamEncoder('chatcmpl-1', 'echo', 42, 100, true, ids())
    const out = data(enc.start() + events.map((e) => enc.event(e)).join('') + enc.finish())
    expect(out.map((c) => (c === '[DONE]' ? c : c.choices[0]?.delta ?? 'usage'))).toEqual([
      { role: 'assistant', content: '' },
      { content: 'Running.' },
      { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'bash', arguments: '{"command":"ls"}' } }] },
      {},
      'usage',
      '[DONE]',
    ])
    expect(out[3]).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 42, model: 'echo', choices: [{ finish_reason: 'tool_calls' }] })
    expect(out[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } })
  })

  it('sends no usage chunk unless asked, and an error object when the call failed', () => {
    const enc = new OpenAiStreamEncoder('chatcmpl-2', 'echo', 42, 100, false, ids())
    expect(data(enc.finish())).toEqual([expect.objectContaining({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }), '[DONE]'])
    expect(data(enc.event({ type: 'error', error: 'boom' }))).toEqual([{ error: { message: 'boom', type: 'server_error' } }])
  })
})

describe('openAiCompletion and openAiError', () => {
  it('folds events into one chat.completion', () => {
    expect(openAiCompletion('chatcmpl-3', 'echo', 42, 1, events(), ids())).toEqual({
      id: 'chatcmpl-3',
      object: 'chat.completion',
      created: 42,
      model: 'echo',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'length' }],
      usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
    })
    function events(): StepEvent[] {
      return [
        { type: 'text', text: 'hi' },
        { type: 'usage', usage: { inputTokens: 2, outputTokens: 1, costUsd: 0 } },
      ]
    }
  })

  it('names the error type by status and its code by the reason', () => {
    expect(openAiError(402, 'over', { reason: 'budget' })).toEqual({ error: { message: 'over', type: 'insufficient_quota', param: null, code: 'budget' }, reason: 'budget' })
    expect(openAiError(400, 'bad').error).toMatchObject({ type: 'invalid_request_error', code: null })
  })
})
