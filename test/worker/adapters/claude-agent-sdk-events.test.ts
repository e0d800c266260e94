/**
 * The claude-agent-sdk adapter's pure mapping: Tether tools → Claude Code tools, the history
 * block for a fresh session, and SDK messages (shapes as Claude Code 2.1 sends them) → sink reports.
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk'
import { describe, expect, it } from 'vitest'
import { ClaudeEventBridge, claudeToolPolicy, toolResultText } from '../../../src/worker/adapters/claude-agent-sdk-events'
import type { TurnSink } from '../../../src/worker/adapters/types'

function recorder(): { sink: TurnSink; calls: Array<[string, ...unknown[]]> } {
  const calls: Array<[string, ...unknown[]]> = []
  return {
    calls,
    sink: {
      text: (d) => calls.push(['text', d]),
      toolStart: (c) => calls.push(['toolStart', c]),
      toolEnd: (k, r) => calls.push(['toolEnd', k, r]),
      usage: (u) => calls.push(['usage', u]),
      status: (s) => calls.push(['status', s]),
    },
  }
}

// Message shapes are cast: the SDK's types carry many fields a bridge never reads.
const msg = (m: Record<string, unknown>): SDKMessage =>
  ({ session_id: 'S1', uuid: 'u', parent_tool_use_id: null, ...m }) as unknown as SDKMessage
const streamEvent = (event: Record<string, unknown>) => msg({ type: 'stream_event', event })
const assistant = (id: string, content: unknown[], extra: Record<string, unknown> = {}) =>
  msg({ type: 'assistant', message: { id, role: 'assistant', content }, ...extra })
const result = (extra: Record<string, unknown>) =>
  msg({
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: '',
    total_cost_usd: 0,
    usage: { input_tokens: 0, output_tokens: 0 },
    ...extra,
  })

describe('claudeToolPolicy', () => {
  it('maps each Tether tool to its Claude Code tools and disallows the rest', () => {
    const policy = claudeToolPolicy(['shell', 'write_file'])
    expect(policy.tools).toEqual(['Bash', 'Write', 'Edit'])
    expect(policy.allowedTools).toEqual(policy.tools)
    expect(policy.disallowedTools).toEqual(expect.arrayContaining(['Read', 'Glob', 'WebFetch', 'WebSearch', 'Task', 'Agent']))
    expect(policy.disallowedTools).not.toContain('Bash')
  })

  it('an agent with no tools gets none', () => {
    expect(claudeToolPolicy([]).tools).toEqual([])
  })
})

describe('toolResultText', () => {
  it('joins text blocks and keeps strings', () => {
    expect(toolResultText('ok')).toBe('ok')
    expect(toolResultText([{ type: 'text', text: 'a' }, { type: 'image' }])).toBe('a\n[image]')
  })
})

describe('ClaudeEventBridge', () => {
  it('text deltas stream; the assistant message that repeats them is not reported twice', () => {
    const { sink, calls } = recorder()
    const bridge = new ClaudeEventBridge(sink)
    bridge.handle(streamEvent({ type: 'message_start', message: { id: 'm1' } }))
    bridge.handle(streamEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }))
    bridge.handle(streamEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo' } }))
    bridge.handle(assistant('m1', [{ type: 'text', text: 'Hello' }]))
    expect(calls).toEqual([
      ['text', 'Hel'],
      ['text', 'lo'],
    ])
    expect(bridge.sessionId).toBe('S1')
  })

  it('an assistant message that did not stream is reported whole', () => {
    const { sink, calls } = recorder()
    new ClaudeEventBridge(sink).handle(assistant('m2', [{ type: 'text', text: 'all at once' }]))
    expect(calls).toEqual([['text', 'all at once']])
  })

  it('tool_use starts a call once; its tool_result ends it (is_error → failed)', () => {
    const { sink, calls } = recorder()
    const bridge = new ClaudeEventBridge(sink)
    const use = { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'false' } }
    bridge.handle(assistant('m1', [use]))
    bridge.handle(assistant('m1', [use]))
    bridge.handle(
      msg({
        type: 'user',
        message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'exit 1', is_error: true }] },
      }),
    )
    bridge.handle(
      msg({
        type: 'user',
        message: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'again', is_error: true }] },
      }),
    )
    expect(calls).toEqual([
      ['toolStart', { key: 'toolu_1', name: 'Bash', input: { command: 'false' } }],
      ['toolEnd', 'toolu_1', { ok: false, error: 'exit 1' }],
    ])
  })

  it('the synthetic assistant message of a failed model call is a status line, not text', () => {
    const { sink, calls } = recorder()
    new ClaudeEventBridge(sink).handle(assistant('m3', [{ type: 'text', text: 'API Error: 400 bad' }], { error: 'invalid_request' }))
    expect(calls).toEqual([['status', 'model error: invalid_request']])
  })

  it("ignores subagents' frames", () => {
    const { sink, calls } = recorder()
    new ClaudeEventBridge(sink).handle(
      msg({ type: 'assistant', parent_tool_use_id: 'toolu_9', message: { id: 'x', content: [{ type: 'text', text: 'inner' }] } }),
    )
    expect(calls).toEqual([])
  })

  it('a result reports the turn’s tokens (not Claude Code’s own cost estimate) and ends the turn', () => {
    const { sink, calls } = recorder()
    const bridge = new ClaudeEventBridge(sink)
    const outcome = bridge.handle(
      result({
        total_cost_usd: 0.75,
        usage: { input_tokens: 10, cache_read_input_tokens: 5, cache_creation_input_tokens: 1, output_tokens: 4 },
      }),
    )
    expect(outcome).toEqual({ kind: 'done' })
    expect(calls).toEqual([['usage', { inputTokens: 16, outputTokens: 4 }]])
  })

  it('error results fail the turn with the reason; open tool calls end as failed', () => {
    const { sink, calls } = recorder()
    const bridge = new ClaudeEventBridge(sink)
    bridge.handle(assistant('m1', [{ type: 'tool_use', id: 'toolu_2', name: 'Bash', input: {} }]))
    const outcome = bridge.handle(result({ subtype: 'error_max_turns', is_error: true, errors: ['too many turns'] }))
    expect(outcome).toEqual({ kind: 'failed', reason: 'Claude Code error_max_turns: too many turns' })
    expect(calls.at(-1)).toEqual(['toolEnd', 'toolu_2', { ok: false, error: expect.stringContaining('without a result') }])
    const failed = new ClaudeEventBridge(recorder().sink).handle(result({ is_error: true, result: 'API Error: 500 boom' }))
    expect(failed).toEqual({ kind: 'failed', reason: 'Claude Code: API Error: 500 boom' })
  })

  it('retries and denials become status lines', () => {
    const { sink, calls } = recorder()
    const bridge = new ClaudeEventBridge(sink)
    bridge.handle(
      msg({
        type: 'system',
        subtype: 'api_retry',
        attempt: 2,
        max_retries: 10,
        retry_delay_ms: 1000,
        error_status: 529,
        error: 'overloaded',
      }),
    )
    bridge.handle(msg({ type: 'system', subtype: 'permission_denied', tool_name: 'WebFetch', tool_use_id: 't' }))
    expect(calls).toEqual([
      ['status', 'model call retry 2/10'],
      ['status', 'WebFetch denied (not allowed to this agent)'],
    ])
  })
})
