/** The Anthropic Messages wire translations (pure): request → StepRequest, StepEvents → SSE / message. */
import { describe, expect, it } from 'vitest'
import { anthropicError, anthropicMessage, AnthropicStreamEncoder, fromAnthropic, WireError } from '../../../src/lib/gateway/wire-anthropic'
import type { StepEvent } from '../../../src/lib/gateway/types'

const ids = () => {
  let n = 0
  return () => `toolu_${++n}`
}

/** SSE frames → [event, data] pairs. */
const frames = (sse: string) =>
  sse
    .split('\n\n')
    .filter(Boolean)
    .map((f) => {
      const [event, data] = f.split('\n')
      return [event!.slice('event: '.length), JSON.parse(data!.slice('data: '.length))] as const
    })

describe('fromAnthropic', () => {
  it('joins system blocks, keeps text/tool_use/tool_result, drops thinking blocks and server tools, caps max_tokens', () => {
    const step = fromAnthropic({
      model: 'claude-opus-4-1',
      max_tokens: 1_000_000,
      system: [
        { type: 'text', text: 'You are Claude Code.' },
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        { role: 'user', content: 'list files' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'hmm', signature: 's' },
            { type: 'text', text: 'Sure.' },
            { type: 'tool_use', id: 'toolu_a', name: 'Bash', input: { command: 'ls' } },
          ],
        },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_a', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], is_error: true }],
        },
      ],
      tools: [
        { name: 'Bash', description: 'run', input_schema: { type: 'object' } },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      ],
    })
    expect(step).toEqual({
      model: 'claude-opus-4-1',
      system: 'You are Claude Code.\n\nBe brief.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'list files' }] },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Sure.' },
            { type: 'tool_use', id: 'toolu_a', name: 'Bash', input: { command: 'ls' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', toolUseId: 'toolu_a', content: 'a\nb', isError: true }] },
      ],
      tools: [{ name: 'Bash', description: 'run', inputSchema: { type: 'object' } }],
      maxTokens: 128_000,
    })
  })

  it("folds Claude Code's role:system messages into the system prompt", () => {
    const step = fromAnthropic({
      max_tokens: 10,
      system: 'base',
      messages: [
        { role: 'system', content: 'extra rule' },
        { role: 'user', content: 'hi' },
        { role: 'system', content: [{ type: 'text', text: 'late rule' }] },
      ],
    })
    expect(step.system).toBe('base\n\nextra rule\n\nlate rule')
    expect(step.messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hi' }] }])
  })

  it('refuses images and documents with the block named', () => {
    const image = () =>
      fromAnthropic({ max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image', source: {} }] }] })
    expect(image).toThrow(WireError)
    expect(image).toThrow('messages.0.content.1: blocks of type image are not supported')
  })
})

describe('AnthropicStreamEncoder', () => {
  it('writes message_start, a text block, a tool_use block with its input as one input_json_delta, then message_delta with usage and message_stop', () => {
    const enc = new AnthropicStreamEncoder('msg_1', 'echo', 100, ids())
    const events: StepEvent[] = [
      { type: 'text', text: 'Running ' },
      { type: 'text', text: 'ls.' },
      { type: 'tool_call', name: 'Bash', input: { command: 'ls' } },
      { type: 'usage', usage: { inputTokens: 7, outputTokens: 2, costUsd: 0 } },
    ]
    const out = frames(enc.start() + events.map((e) => enc.event(e)).join('') + enc.finish())
    expect(out.map(([e]) => e)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ])
    expect(out[0]![1]).toMatchObject({ type: 'message_start', message: { id: 'msg_1', model: 'echo', role: 'assistant', content: [] } })
    expect(out[3]![1]).toEqual({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ls.' } })
    expect(out[5]![1]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: {} } })
    expect(out[6]![1]).toEqual({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"command":"ls"}' } })
    expect(out[8]![1]).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 7, output_tokens: 2 },
    })
  })

  it('says max_tokens when output reached the limit, and ends with an error event when the call failed', () => {
    const enc = new AnthropicStreamEncoder('msg_2', 'echo', 2, ids())
    enc.event({ type: 'usage', usage: { inputTokens: 1, outputTokens: 2, costUsd: 0 } })
    expect(frames(enc.finish())[0]![1].delta.stop_reason).toBe('max_tokens')
    const failing = new AnthropicStreamEncoder('msg_3', 'echo', 10, ids())
    const out = frames(failing.event({ type: 'text', text: 'a' }) + failing.event({ type: 'error', error: 'provider said no' }))
    expect(out.at(-2)![0]).toBe('content_block_stop')
    expect(out.at(-1)).toEqual(['error', { type: 'error', error: { type: 'api_error', message: 'provider said no' } }])
  })
})

describe('anthropicMessage and anthropicError', () => {
  it('folds events into one message', () => {
    const msg = anthropicMessage(
      'msg_4',
      'echo',
      100,
      [
        { type: 'text', text: 'a ' },
        { type: 'text', text: 'b' },
        { type: 'usage', usage: { inputTokens: 3, outputTokens: 2, costUsd: 0 } },
      ],
      ids(),
    )
    expect(msg).toEqual({
      id: 'msg_4',
      type: 'message',
      role: 'assistant',
      model: 'echo',
      content: [{ type: 'text', text: 'a b' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 3, output_tokens: 2 },
    })
  })

  it('names the error type by status and carries the reason along', () => {
    expect(anthropicError(402, 'budget: …', { reason: 'budget' })).toEqual({ type: 'error', error: { type: 'billing_error', message: 'budget: …' }, reason: 'budget' })
    expect(anthropicError(503, 'no key').error.type).toBe('api_error')
    expect(anthropicError(403, 'no').error.type).toBe('permission_error')
  })
})
