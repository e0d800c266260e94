/** The UI's turn derivation: turn records → what each user message shows, and the current turn. */
import { describe, expect, it } from 'vitest'
import type { AgentStateEntry, AgentTurn } from '../../../../src/lib/sessions/channel-schemas'
import { deriveTurns } from '../../../../src/lib/sessions/client/turns'

const turn = (messageId: string, n: number, status: AgentTurn['status'], extra: Partial<AgentTurn> = {}): AgentTurn => ({
  id: `turn:${messageId}`,
  kind: 'turn',
  messageId,
  turn: n,
  status,
  acceptedAt: 1,
  updatedAt: 2,
  timestamp: 2,
  ...extra,
})

describe('deriveTurns', () => {
  it('labels each status and names who stopped a turn', () => {
    const entries: AgentStateEntry[] = [
      turn('m1', 1, 'done'),
      turn('m2', 2, 'cancelled', { stopRequest: 'control:c' }),
      { id: 'control:c', kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'u-ada', timestamp: 3 },
      turn('m3', 3, 'failed', { reason: 'model error' }),
      turn('m4', 4, 'done', { interruptions: 1 }),
      turn('m5', 5, 'tool'),
    ]
    const { byMessage, current } = deriveTurns(entries, (id) => (id === 'u-ada' ? 'Ada' : id))
    expect([...byMessage.values()].map((t) => t.label)).toEqual([
      'done',
      'stopped by Ada',
      'failed: model error',
      'interrupted, resumed · done',
      'running tool',
    ])
    expect(byMessage.get('m2')?.stoppedBy).toBe('u-ada')
    expect(current?.messageId).toBe('m5')
  })

  it('has no current turn when every turn has ended; an interrupted one is still current', () => {
    expect(deriveTurns([turn('m1', 1, 'done'), turn('m2', 2, 'cancelled')]).current).toBeNull()
    const views = deriveTurns([turn('m1', 1, 'interrupted', { interruptions: 1 }), turn('m2', 2, 'accepted')])
    expect(views.current?.messageId).toBe('m2')
    expect(views.byMessage.get('m1')?.label).toBe('interrupted, resuming…')
  })
})
