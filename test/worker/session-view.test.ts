/** Replaying a session stream into the worker's view: where a restarted worker picks up. */
import { describe, expect, it } from 'vitest'
import { SessionView, stepMessageId, toolCallId } from '../../src/worker/session-view'
import type { StreamEvent } from '../../src/worker/events'

let ts = 1_000
const ev = (type: string, value: Record<string, unknown>, operation: 'insert' | 'upsert' = 'insert'): StreamEvent => ({
  type,
  key: String(value.id),
  value: { timestamp: ++ts, ...value },
  headers: { operation },
})
const user = (messageId: string, text: string, done = true, seq = 0) =>
  ev('chunk', { id: `${messageId}:${seq}`, messageId, role: 'user', author: 'alice', turn: 0, seq, delta: text, done })
const agentChunk = (turn: number, step: number, seq: number, delta: string, done = false) => {
  const messageId = stepMessageId('agent', turn, step)
  return ev('chunk', { id: `${messageId}:${seq}`, messageId, role: 'assistant', author: 'agent', turn, seq, delta, done })
}
const toolCall = (turn: number, step: number, index: number, status: string) => {
  const messageId = stepMessageId('agent', turn, step)
  return ev(
    'tool-call',
    { id: toolCallId(messageId, index), messageId, agentId: 'agent', name: 'shell', input: { command: 'ls' }, status },
    'upsert',
  )
}
const state = (status: string, extra: Record<string, unknown> = {}) =>
  ev(
    'agent-state',
    {
      id: 'agent',
      kind: 'state',
      agentId: 'agent',
      status,
      tokensIn: 1,
      tokensOut: 2,
      costUsd: 0.5,
      turns: 1,
      lastHeartbeat: ts,
      ...extra,
    },
    'upsert',
  )
const control = (action: 'stop' | 'cancel', id: string) =>
  ev('agent-state', { id, kind: 'control', action, reason: 'user', requestedBy: 'alice' }, 'upsert')

function replay(events: StreamEvent[]): SessionView {
  const view = new SessionView('agent')
  for (const e of events) view.apply(e)
  return view
}

describe('SessionView', () => {
  it('numbers turns by completed user messages and finds the first unanswered one', () => {
    const view = replay([
      user('m1', 'hello'),
      agentChunk(1, 0, 0, 'Echo: hello', true),
      user('m2', 'part one ', false, 0),
      user('m2', 'part two', true, 1),
    ])
    expect(view.completedUserMessages).toEqual(['m1', 'm2'])
    expect(view.turns.get(1)?.ended).toBe(true)
    expect(view.currentTurn()).toBe(2)
    expect(view.userText(2)).toBe('part one part two')
  })

  it('keeps a half-streamed step and its next seq, and a step whose done chunk was lost after its tool calls', () => {
    const view = replay([
      user('m1', '/run ls'),
      agentChunk(1, 0, 0, 'Running '),
      agentChunk(1, 0, 1, '`ls`.'),
      toolCall(1, 0, 0, 'pending'),
    ])
    const step = view.turns.get(1)!.steps.get(0)!
    expect([...step.parts.values()].join('')).toBe('Running `ls`.')
    expect(step.done).toBe(false)
    expect(step.toolCallIds).toEqual([toolCallId(stepMessageId('agent', 1, 0), 0)])
    expect(view.turns.get(1)!.ended).toBe(false)
    expect(view.currentTurn()).toBe(1)
  })

  it('does not end a turn on a done step that asked for tools', () => {
    const view = replay([
      user('m1', '/run ls'),
      agentChunk(1, 0, 0, 'x'),
      toolCall(1, 0, 0, 'pending'),
      agentChunk(1, 0, 1, '', true),
      toolCall(1, 0, 0, 'succeeded'),
    ])
    expect(view.turns.get(1)!.ended).toBe(false)
    expect(view.toolCalls.get(toolCallId(stepMessageId('agent', 1, 0), 0))?.status).toBe('succeeded')
  })

  it('marks the running turn cancelled when a cancel arrives before it ended', () => {
    const view = replay([user('m1', 'a'), agentChunk(1, 0, 0, 'partial'), control('cancel', 'control:1')])
    expect(view.turns.get(1)!.cancelRequested).toBe(true)
  })

  it('treats a stop as pending until this agent answered it with a stopped state', () => {
    const pending = replay([user('m1', 'a'), control('stop', 'control:s1')])
    expect(pending.stopRequest?.id).toBe('control:s1')
    const answered = replay([user('m1', 'a'), control('stop', 'control:s1'), state('stopped')])
    expect(answered.stopRequest).toBeNull()
    expect(answered.ownState?.status).toBe('stopped')
  })

  it('tracks the largest timestamp among its own events only', () => {
    const view = replay([user('m1', 'a'), agentChunk(1, 0, 0, 'x', true)])
    const own = ts
    view.apply(
      ev('chunk', {
        id: 'z:0',
        messageId: 'z',
        role: 'user',
        author: 'bob',
        turn: 0,
        seq: 0,
        delta: 'later',
        done: false,
        timestamp: own + 1000,
      }),
    )
    expect(view.maxOwnTimestamp).toBe(own)
  })

  it('lists terminal input lines it has not answered', () => {
    const view = replay([
      ev('terminal', { id: 'in1', kind: 'input', source: 'alice', data: 'ls' }),
      ev('terminal', { id: 'in1:o0', kind: 'output', source: 'agent', stream: 'stdout', data: 'x', commandId: 'in1' }),
      ev('terminal', { id: 'in2', kind: 'input', source: 'alice', data: 'pwd' }),
    ])
    expect(view.unansweredTerminalInputs().map((l) => l.id)).toEqual(['in2'])
    expect(view.terminalOutputs.get('in1')).toBe(1)
  })
})
