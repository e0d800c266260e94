import { describe, expect, it } from 'vitest'
import type { AgentStateEntry, Chunk, Presence, TerminalLine, ToolCall } from '../../../../src/lib/sessions/channel-schemas'
import {
  commandText,
  deriveAgentSummary,
  deriveCommandBlocks,
  deriveCommandHistory,
  deriveMessages,
  deriveWhoIsHere,
  searchHistory,
  type RowMeta,
} from '../../../../src/lib/sessions/client/derive'

let seq = 0
const chunk = (messageId: string, s: number, delta: string, extra: Partial<Chunk & RowMeta> = {}): Chunk & RowMeta => ({
  id: `${messageId}:${s}`,
  messageId,
  role: 'assistant',
  author: 'agent',
  turn: 1,
  seq: s,
  delta,
  done: false,
  timestamp: 1000 + s,
  _seq: seq++,
  ...extra,
})
const line = (
  id: string,
  kind: TerminalLine['kind'],
  data: string | undefined,
  extra: Partial<TerminalLine & RowMeta> = {},
): TerminalLine & RowMeta => ({
  id,
  kind,
  source: 'u1',
  data,
  timestamp: 1,
  _seq: seq++,
  ...(kind === 'output' ? { stream: 'stdout' as const } : {}),
  ...extra,
})

describe('messages from chunks', () => {
  it('joins chunks by seq even when they arrive out of order, in stream order of messages', () => {
    const rows = [
      chunk('b', 0, 'Hi', { role: 'user', author: 'u1', done: true }),
      chunk('a', 1, ' world'),
      chunk('a', 0, 'Hello'),
      chunk('a', 2, '!', { done: true }),
    ]
    // 'a' first appeared after 'b' in the stream, so it comes second.
    const messages = deriveMessages(rows)
    expect(messages.map((m) => [m.id, m.text, m.done])).toEqual([
      ['b', 'Hi', true],
      ['a', 'Hello world!', true],
    ])
  })

  it('marks messages with a missing chunk, and optimistic ones as pending at the end', () => {
    const rows = [
      chunk('a', 0, 'x'),
      chunk('a', 2, 'z'),
      chunk('me', 0, 'mine', { role: 'user', _seq: undefined, $hasPendingWrites: true }),
    ]
    const [a, mine] = deriveMessages(rows)
    expect(a.gap).toBe(true)
    expect(mine.pending).toBe(true)
  })

  it("attributes a message to its first chunk's author and leaves out chunks another person slipped in", () => {
    const rows = [
      chunk('a', 0, 'The answer is '),
      // A collaborator's chunk with the agent's messageId (refused by the server; here: a race or an old stream).
      chunk('a', 1, 'rm -rf / is safe', { id: 'evil-1', role: 'user', author: 'mallory' }),
      chunk('a', 2, 'agent-name spoofed', { id: 'evil-2', author: 'mallory' }),
      chunk('a', 1, '42', { done: true }),
    ]
    const [m] = deriveMessages(rows)
    expect(m).toMatchObject({ author: 'agent', role: 'assistant', text: 'The answer is 42', done: true })
  })

  it('attaches tool calls to their message and shows calls of a message without text', () => {
    const call = (id: string, messageId: string): ToolCall & RowMeta => ({
      id,
      messageId,
      name: 'shell',
      input: { command: 'ls' },
      status: 'running',
      timestamp: 5,
      _seq: seq++,
    })
    const messages = deriveMessages([chunk('a', 0, 'Running')], [call('c1', 'a'), call('c2', 'lonely')])
    expect(messages.map((m) => [m.id, m.toolCalls.map((c) => c.id)])).toEqual([
      ['a', ['c1']],
      ['lonely', ['c2']],
    ])
  })
})

describe('terminal', () => {
  it('tells commands (prompt lines) from raw keys typed into the terminal', () => {
    expect(commandText({ kind: 'input', data: 'ls -la' })).toBe('ls -la')
    expect(commandText({ kind: 'input', data: 'ping\r' })).toBeUndefined()
    expect(commandText({ kind: 'input', data: '\x1b[A' })).toBeUndefined()
    expect(commandText({ kind: 'input', data: '\x03' })).toBeUndefined()
    expect(commandText({ kind: 'input', data: '   ' })).toBeUndefined()
    expect(commandText({ kind: 'output', data: 'ls' })).toBeUndefined()
  })

  it('groups output under the command that caused it, including output after raw keys', () => {
    const lines = [
      line('c1', 'input', 'top'),
      line('o1', 'output', 'top screen', { commandId: 'c1' }),
      line('k1', 'input', 'q'.concat('\x1b')),
      line('o2', 'output', 'bye', { commandId: 'k1' }),
      line('c2', 'input', 'echo hi'),
      line('o3', 'output', 'hi\r\n', { commandId: 'c2' }),
    ]
    expect(deriveCommandBlocks(lines).map((b) => [b.command, b.output])).toEqual([
      ['top', 'top screenbye'],
      ['echo hi', 'hi\r\n'],
    ])
  })

  it('keeps everyone’s history in stream order without immediate repeats, and searches it newest first', () => {
    const lines = [
      line('1', 'input', 'make'),
      line('2', 'input', 'make', { source: 'u2' }),
      line('3', 'input', 'git status'),
      line('4', 'input', 'make test'),
    ]
    const history = deriveCommandHistory(lines)
    expect(history).toEqual(['make', 'git status', 'make test'])
    expect(searchHistory(history, 'make')).toEqual(['make test', 'make'])
    expect(searchHistory(history, '')).toEqual([])
  })
})

describe('presence and agent state', () => {
  it('lists people heard from in the last 30 s, by name', () => {
    const p = (userId: string, displayName: string, lastSeen: number): Presence => ({
      id: userId,
      userId,
      displayName,
      color: '#000000',
      status: 'active',
      lastSeen,
      timestamp: lastSeen,
    })
    const here = deriveWhoIsHere([p('u2', 'Zoe', 100_000), p('u1', 'Ann', 95_000), p('u3', 'Old', 60_000)], 100_000)
    expect(here.map((x) => x.displayName)).toEqual(['Ann', 'Zoe'])
  })

  it('sums agents’ usage and notices an unanswered stop request', () => {
    const state = (agentId: string, status: 'thinking' | 'stopped', timestamp: number): AgentStateEntry => ({
      id: agentId,
      kind: 'state',
      agentId,
      status,
      tokensIn: 10,
      tokensOut: 5,
      costUsd: 0.5,
      turns: 2,
      lastHeartbeat: timestamp,
      timestamp,
    })
    const stop: AgentStateEntry = { id: 'control:1', kind: 'control', action: 'stop', reason: 'user', requestedBy: 'u1', timestamp: 50 }
    const busy = deriveAgentSummary([state('a', 'thinking', 10), state('b', 'thinking', 20), stop])
    expect([busy.tokensIn, busy.tokensOut, busy.costUsd, busy.turns]).toEqual([20, 10, 1, 4])
    expect(busy.primary?.agentId).toBe('b')
    expect(busy.stopRequested).toBe(true)
    expect(deriveAgentSummary([state('a', 'stopped', 60), stop]).stopRequested).toBe(false)
  })
})
