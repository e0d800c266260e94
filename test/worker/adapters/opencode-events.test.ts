/**
 * The opencode adapter's pure half: its config (offline, the model proxy as its one provider, the
 * allowed tools only), the history preamble for a fresh session, and opencode 1.18's event stream
 * (shapes as recorded from `opencode serve`) → sink reports and the turn's end.
 */
import { describe, expect, it } from 'vitest'
import {
  errorText,
  OPENCODE_DUMMY_KEY,
  OpencodeEventBridge,
  type OpencodeEvent,
  opencodeConfig,
  opencodePermissions,
} from '../../../src/worker/adapters/opencode-events'
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

const S = 'ses_1'
const ev = (type: string, properties: Record<string, unknown>): OpencodeEvent => ({ type, properties })
const status = (type: string, sessionID = S) => ev('session.status', { sessionID, status: { type } })
const assistant = (id: string, extra: Record<string, unknown> = {}) =>
  ev('message.updated', { sessionID: S, info: { id, role: 'assistant', sessionID: S, ...extra } })
const part = (p: Record<string, unknown>, messageID = 'msg_a') => ev('message.part.updated', { sessionID: S, part: { sessionID: S, messageID, ...p } })
const delta = (partID: string, text: string, messageID = 'msg_a') =>
  ev('message.part.delta', { sessionID: S, messageID, partID, field: 'text', delta: text })
const tool = (state: Record<string, unknown>) => part({ id: 'prt_tool', type: 'tool', tool: 'bash', callID: 'toolu_1', state })

describe('opencode config', () => {
  const context = {
    model: 'echo',
    system: 'Be brief.',
    tools: ['shell', 'read_file'] as const,
    modelProxy: { anthropic: 'http://127.0.0.1:5000/anthropic', openai: 'http://127.0.0.1:5000/openai' },
  }

  it('names the model proxy as the one provider, with a dummy key and the agent model', () => {
    const config = opencodeConfig({ ...context, tools: [...context.tools] }) as {
      model: string
      enabled_providers: string[]
      provider: Record<string, { npm: string; options: { baseURL: string; apiKey: string }; models: Record<string, unknown> }>
      agent: { build: { prompt: string } }
      share: string
      autoupdate: boolean
    }
    expect(config.model).toBe('tether/echo')
    expect(config.enabled_providers).toEqual(['tether'])
    expect(config.provider.tether.npm).toBe('@ai-sdk/anthropic')
    expect(config.provider.tether.options).toEqual({ baseURL: 'http://127.0.0.1:5000/anthropic/v1', apiKey: OPENCODE_DUMMY_KEY })
    expect(Object.keys(config.provider.tether.models)).toEqual(['echo'])
    expect(config.agent.build.prompt).toBe('Be brief.')
    expect(config.share).toBe('disabled')
    expect(config.autoupdate).toBe(false)
  })

  it('allows the opencode tools of the allowed Tether tools and denies everything else', () => {
    expect(opencodePermissions(['shell', 'read_file'])).toEqual({ '*': 'deny', bash: 'allow', external_directory: 'allow', read: 'allow', grep: 'allow' })
    expect(opencodePermissions(['write_file', 'list_files'])).toEqual({ '*': 'deny', edit: 'allow', list: 'allow', glob: 'allow' })
    expect(opencodePermissions([])).toEqual({ '*': 'deny' })
  })

  it('has no agent section without a system prompt (opencode keeps its own)', () => {
    expect(opencodeConfig({ ...context, system: undefined, tools: [] })).not.toHaveProperty('agent')
  })
})

describe('event bridge', () => {
  it('streams text deltas of the assistant message and ends on idle after busy', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    const outcomes = [
      status('idle'), // a stale idle before our run started is not the end
      status('busy'),
      assistant('msg_a'),
      part({ id: 'prt_s', type: 'step-start' }),
      part({ id: 'prt_t', type: 'text', text: '' }),
      delta('prt_t', 'Hello '),
      delta('prt_t', 'there'),
      part({ id: 'prt_t', type: 'text', text: 'Hello there' }),
      part({ id: 'prt_f', type: 'step-finish', tokens: { input: 5, output: 2, cache: { read: 3, write: 0 } }, cost: 0.01 }),
      status('idle'),
    ].map((e) => bridge.handle(e).kind)
    expect(outcomes.at(0)).toBe('running')
    expect(outcomes.at(-1)).toBe('idle')
    expect(calls).toEqual([
      ['text', 'Hello '],
      ['text', 'there'],
      ['usage', { inputTokens: 8, outputTokens: 2, costUsd: 0.01 }],
    ])
  })

  it("ignores the user's own parts, other sessions and reasoning deltas", () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(status('busy'))
    bridge.handle(part({ id: 'prt_u', type: 'text', text: '/run ls' }, 'msg_user'))
    bridge.handle(assistant('msg_a'))
    bridge.handle(part({ id: 'prt_r', type: 'reasoning', text: '' }))
    bridge.handle(delta('prt_r', 'thinking…'))
    bridge.handle(ev('message.part.delta', { sessionID: 'other', messageID: 'msg_a', partID: 'prt_t', field: 'text', delta: 'x' }))
    expect(bridge.handle(status('idle', 'other')).kind).toBe('running')
    expect(calls).toEqual([])
  })

  it('gives the whole text of a part that streamed no deltas', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(assistant('msg_a'))
    bridge.handle(part({ id: 'prt_t', type: 'text', text: 'Hel' }))
    bridge.handle(part({ id: 'prt_t', type: 'text', text: 'Hello' }))
    expect(calls).toEqual([
      ['text', 'Hel'],
      ['text', 'lo'],
    ])
  })

  it('reports a tool call once started (running) and once ended, with its output', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(assistant('msg_a'))
    bridge.handle(tool({ status: 'pending', input: {}, raw: '' }))
    bridge.handle(tool({ status: 'running', input: { command: 'id -u' } }))
    bridge.handle(tool({ status: 'running', input: { command: 'id -u' }, metadata: { output: '10' } }))
    bridge.handle(tool({ status: 'completed', input: { command: 'id -u' }, output: '1000\n' }))
    bridge.handle(tool({ status: 'completed', input: { command: 'id -u' }, output: '1000\n' }))
    expect(calls).toEqual([
      ['toolStart', { key: 'toolu_1', name: 'bash', input: { command: 'id -u' } }],
      ['toolEnd', 'toolu_1', { ok: true, output: '1000\n' }],
    ])
  })

  it('ends a failed tool call failed, and a call left open when the turn ends', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(status('busy'))
    bridge.handle(assistant('msg_a'))
    bridge.handle(tool({ status: 'error', input: { command: 'false' }, error: 'exit 1' }))
    bridge.handle(part({ id: 'prt_2', type: 'tool', tool: 'read', callID: 'toolu_2', state: { status: 'running', input: { filePath: 'a' } } }))
    expect(bridge.handle(ev('session.idle', { sessionID: S })).kind).toBe('idle')
    expect(calls).toEqual([
      ['toolStart', { key: 'toolu_1', name: 'bash', input: { command: 'false' } }],
      ['toolEnd', 'toolu_1', { ok: false, error: 'exit 1' }],
      ['toolStart', { key: 'toolu_2', name: 'read', input: { filePath: 'a' } }],
      ['toolEnd', 'toolu_2', { ok: false, error: 'opencode ended the turn without a result for this call' }],
    ])
  })

  it('fails the turn with the session error when it goes idle', () => {
    const { sink } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(status('busy'))
    bridge.handle(ev('session.error', { sessionID: S, error: { name: 'APIError', data: { message: 'budget exceeded' } } }))
    expect(bridge.handle(status('idle'))).toEqual({ kind: 'failed', reason: 'opencode APIError: budget exceeded' })
  })

  it("never fails a turn on an abort's report (ours, and it can arrive in the next turn)", () => {
    const { sink } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(status('busy'))
    bridge.handle(ev('session.error', { sessionID: S, error: { name: 'MessageAbortedError', data: { message: 'Aborted' } } }))
    bridge.handle(assistant('msg_old', { error: { name: 'MessageAbortedError', data: { message: 'Aborted' } } }))
    expect(bridge.handle(status('idle'))).toEqual({ kind: 'idle' })
  })

  it('answers permission requests from the allowed tools and reports them as status', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set(['bash']))
    const asked = (id: string, permission: string) => ev('permission.asked', { id, sessionID: S, permission, patterns: ['*'] })
    expect(bridge.handle(asked('per_1', 'bash'))).toEqual({ kind: 'permission', requestId: 'per_1', reply: 'once', permission: 'bash' })
    expect(bridge.handle(asked('per_2', 'webfetch'))).toEqual({ kind: 'permission', requestId: 'per_2', reply: 'reject', permission: 'webfetch' })
    expect(calls).toEqual([
      ['status', 'permission bash: allowed'],
      ['status', 'permission webfetch: denied'],
    ])
  })

  it('counts each step-finish once', () => {
    const { sink, calls } = recorder()
    const bridge = new OpencodeEventBridge(sink, S, new Set())
    bridge.handle(assistant('msg_a'))
    const finish = part({ id: 'prt_f', type: 'step-finish', tokens: { input: 1, output: 1 }, cost: 0 })
    bridge.handle(finish)
    bridge.handle(finish)
    expect(calls).toEqual([['usage', { inputTokens: 1, outputTokens: 1 }]])
  })
})

describe('errorText', () => {
  it('reads opencode error objects and strings', () => {
    expect(errorText({ name: 'ProviderAuthError', data: { message: 'no key' } })).toBe('opencode ProviderAuthError: no key')
    expect(errorText({ name: 'UnknownError' })).toBe('opencode UnknownError')
    expect(errorText('boom')).toBe('boom')
  })
})
