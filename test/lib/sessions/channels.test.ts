import { MaterializedState } from '@durable-streams/state'
import { describe, expect, it } from 'vitest'
import { isPresenceGone, sessionStateSchema } from '../../../src/lib/sessions/channel-schemas'
import { buildSessionEvent, validateEnvelope, validateSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'

const now = 1_700_000_000_000
const fixedIds = () => {
  let n = 0
  return () => `id${++n}`
}

describe('channel schemas', () => {
  it('fills id and timestamp and defaults for each channel', () => {
    const chunk = validateSessionEvent('chunk', { messageId: 'm1', role: 'user', author: 'u1', turn: 0, seq: 2, delta: 'hi' }, { now })
    expect(chunk).toEqual({ ok: true, value: expect.objectContaining({ id: 'm1:2', timestamp: now, done: false }) })
    const presence = validateSessionEvent('presence', { userId: 'u1', displayName: 'Ann', color: '#112233', status: 'active' }, { now })
    expect(presence).toEqual({ ok: true, value: expect.objectContaining({ id: 'u1', lastSeen: now }) })
    const agent = validateSessionEvent(
      'agent-state',
      { agentId: 'a1', status: 'idle', tokensIn: 1, tokensOut: 2, costUsd: 0.1, turns: 1 },
      { now },
    )
    expect(agent).toEqual({ ok: true, value: expect.objectContaining({ id: 'a1', kind: 'state', lastHeartbeat: now }) })
    const control = validateSessionEvent(
      'agent-state',
      { kind: 'control', action: 'stop', reason: 'user', requestedBy: 'u1' },
      { now, newId: fixedIds() },
    )
    expect(control).toEqual({ ok: true, value: expect.objectContaining({ id: 'control:id1' }) })
    const tool = validateSessionEvent(
      'tool-call',
      { messageId: 'm1', name: 'bash', input: { cmd: 'ls' }, status: 'pending' },
      { now, newId: fixedIds() },
    )
    expect(tool).toEqual({ ok: true, value: expect.objectContaining({ id: 'id1', input: { cmd: 'ls' } }) })
  })

  it.each([
    ['bogus', {}, 'channel'],
    ['chunk', 'text', 'data'],
    ['chunk', { messageId: 'm', role: 'robot', author: 'u', turn: 0, seq: 0, delta: '' }, 'data.role'],
    ['chunk', { messageId: 'm', role: 'user', author: 'u', turn: -1, seq: 0, delta: '' }, 'data.turn'],
    ['tool-call', { messageId: 'm', name: 'x', input: {}, status: 'done' }, 'data.status'],
    ['terminal', { kind: 'output', source: 'a', data: 'x' }, 'data.stream'],
    ['terminal', { kind: 'exit', source: 'a' }, 'data.exitCode'],
    ['terminal', { kind: 'resize', source: 'a', cols: 80 }, 'data.rows'],
    ['presence', { userId: 'u', displayName: 'A', color: 'red', status: 'active' }, 'data.color'],
    ['presence', { id: 'x', userId: 'u', displayName: 'A', color: '#000000', status: 'active' }, 'data.id'],
    ['agent-state', { agentId: 'a', status: 'sleeping', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 }, 'data.status'],
    ['agent-state', { kind: 'control', action: 'explode', reason: 'x', requestedBy: 'u' }, 'data.action'],
  ])('rejects %s %j at %s', (channel, data, field) => {
    const r = validateSessionEvent(channel, data, { now })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.field).toBe(field)
  })

  it('builds envelopes whose event id makes immutable entries idempotent', () => {
    const a = buildSessionEvent({ channel: 'terminal', data: { id: 'l1', kind: 'input', source: 'u1', data: 'ls' } }, { now, txid: 't1' })
    expect(a.ok && a.value.headers).toEqual({
      operation: 'insert',
      eventId: 'terminal:l1',
      txid: 't1',
      timestamp: new Date(now).toISOString(),
    })
    const b = buildSessionEvent(
      { channel: 'presence', id: 'e9', data: { userId: 'u1', displayName: 'A', color: '#000000', status: 'idle' } },
      { now },
    )
    expect(b.ok && b.value.headers.eventId).toBe('e9')
    expect(buildSessionEvent({ channel: 'chunk', operation: 'delete', data: { id: 'm:0' } })).toMatchObject({
      ok: false,
      field: 'operation',
    })
    expect(buildSessionEvent({ channel: 'presence', operation: 'delete', data: { userId: 'u1' } }, { now })).toMatchObject({
      ok: true,
      value: { type: 'presence', key: 'u1', headers: { operation: 'delete' } },
    })
  })

  it('validates complete envelopes on the raw path and materializes them', () => {
    const built = buildSessionEvent(
      { channel: 'chunk', data: { messageId: 'm1', role: 'assistant', author: 'a1', turn: 1, seq: 0, delta: 'yo', done: true } },
      { now },
    )
    expect(built.ok).toBe(true)
    const event = (built as { value: SessionEvent }).value
    expect(validateEnvelope(event).ok).toBe(true)
    expect(validateEnvelope({ ...event, key: 'other' })).toMatchObject({ ok: false, field: 'event.key' })
    expect(validateEnvelope({ ...event, type: 'nope' })).toMatchObject({ ok: false, field: 'event.type' })
    expect(validateEnvelope({ ...event, value: { ...event.value, seq: 'x' } })).toMatchObject({ ok: false, field: 'event.value.seq' })
    const state = new MaterializedState()
    state.apply(event)
    expect(state.get('chunk', 'm1:0')).toMatchObject({ delta: 'yo' })
  })

  it('one state schema describes all five channels', () => {
    expect(
      Object.values(sessionStateSchema)
        .map((c) => c.type)
        .sort(),
    ).toEqual(['agent-state', 'chunk', 'presence', 'terminal', 'tool-call'])
    const ev = sessionStateSchema.presence.upsert({
      value: { id: 'u', userId: 'u', displayName: 'U', color: '#000000', status: 'away', lastSeen: now, timestamp: now },
    })
    expect(ev.key).toBe('u')
  })

  it('presence is gone after the heartbeat lapses', () => {
    expect(isPresenceGone({ lastSeen: now }, now + 10_000)).toBe(false)
    expect(isPresenceGone({ lastSeen: now }, now + 31_000)).toBe(true)
  })
})
