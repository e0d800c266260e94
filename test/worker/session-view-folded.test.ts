/** A compacted stream (src/lib/sessions/compaction) replays into the same worker view as the original. */
import { describe, expect, it } from 'vitest'
import { SessionView, joinParts, stepMessageId } from '../../src/worker/session-view'
import type { StreamEvent } from '../../src/worker/events'

const chunk = (messageId: string, role: 'user' | 'assistant', author: string, seq: number, delta: string, done: boolean, folded?: number): StreamEvent => ({
  type: 'chunk',
  key: folded === undefined ? `${messageId}:${seq}` : `${messageId}:folded`,
  value: { id: `${messageId}:${seq}`, messageId, role, author, turn: 1, seq, delta, done, timestamp: 1000 + seq, ...(folded === undefined ? {} : { folded }) },
  headers: { operation: folded === undefined ? 'insert' : 'upsert' },
})

function replay(events: StreamEvent[]): SessionView {
  const view = new SessionView('agent')
  for (const e of events) view.apply(e)
  return view
}

describe('SessionView over folded chunks', () => {
  const step = stepMessageId('agent', 1, 0)
  const original = [
    chunk('u1', 'user', 'ann', 0, 'hello ', false),
    chunk('u1', 'user', 'ann', 1, 'there', true),
    chunk(step, 'assistant', 'agent', 0, 'Hi', false),
    chunk(step, 'assistant', 'agent', 1, ' ann', false),
    chunk(step, 'assistant', 'agent', 2, '!', true),
  ]
  const compacted = [
    chunk('u1', 'user', 'ann', 0, 'hello ', false),
    chunk('u1', 'user', 'ann', 1, 'hello there', true, 2),
    chunk(step, 'assistant', 'agent', 0, 'Hi', false),
    chunk(step, 'assistant', 'agent', 2, 'Hi ann!', true, 3),
  ]

  it('rebuilds the user text and the step text once, not the kept first chunk plus the fold', () => {
    const view = replay(compacted)
    expect(view.userText(1)).toBe('hello there')
    expect(joinParts(view.turns.get(1)!.steps.get(0)!.parts)).toBe('Hi ann!')
  })

  it('finds the same turns answered as the uncompacted stream', () => {
    const a = replay(original)
    const b = replay(compacted)
    expect(b.completedUserMessages).toEqual(a.completedUserMessages)
    expect(b.currentTurn()).toBe(a.currentTurn())
    expect(b.endedTurns()).toBe(1)
  })

  it('numbers the next output line after the highest kept one when older output lines were dropped', () => {
    const view = new SessionView('agent')
    view.apply({ type: 'terminal', key: 'in1', value: { id: 'in1', kind: 'input', source: 'ann', data: 'yes', timestamp: 1 }, headers: { operation: 'insert' } })
    for (const n of [7, 8, 9]) {
      const id = `in1:o${n}`
      view.apply({ type: 'terminal', key: id, value: { id, kind: 'output', source: 'agent', stream: 'stdout', data: 'y', commandId: 'in1', timestamp: 2 }, headers: { operation: 'insert' } })
    }
    expect(view.terminalOutputs.get('in1')).toBe(10)
    expect(view.unansweredTerminalInputs()).toEqual([])
  })
})
