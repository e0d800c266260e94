import { describe, expect, it } from 'vitest'
import { type CompactionPolicy, type PlannedEvent, planCompaction } from '../../../../src/lib/sessions/compaction/plan'

const NOW = 10_000_000
const policy: CompactionPolicy = {
  chunks: true,
  chunkGraceMs: 60_000,
  presenceWindowMs: 300_000,
  terminalOutputLines: 3,
  terminalOutputBytes: 1_000_000,
  terminalInputLines: 2,
}
const OLD = NOW - 3_600_000

/** Events one per row, rows numbered from 1 in the order given. */
function rows(...events: unknown[]): PlannedEvent[] {
  return events.map((event, i) => ({ seq: i + 1, index: 0, event }))
}
const ev = (type: string, key: string, value: Record<string, unknown> | undefined, operation = 'upsert') => ({
  type,
  key,
  ...(value ? { value } : {}),
  headers: { operation, eventId: `e-${type}-${key}-${Math.random()}`, timestamp: new Date(OLD).toISOString() },
})
const chunk = (messageId: string, seq: number, delta: string, done = false, extra: Record<string, unknown> = {}) =>
  ev('chunk', `${messageId}:${seq}`, { id: `${messageId}:${seq}`, messageId, role: 'assistant', author: 'agent', turn: 1, seq, delta, done, timestamp: OLD, ...extra }, 'insert')
const term = (id: string, kind: string, extra: Record<string, unknown> = {}) =>
  ev('terminal', id, { id, kind, source: 'agent', timestamp: OLD, ...extra }, 'insert')

describe('planCompaction: chunks', () => {
  it('keeps the first chunk, drops the middle ones and replaces the done chunk by the whole text', () => {
    const plan = planCompaction(rows(chunk('m', 0, 'a'), chunk('m', 1, 'b'), chunk('m', 2, 'c'), chunk('m', 3, 'd', true)), policy, NOW)
    expect([...plan.drop].sort()).toEqual(['2:0', '3:0'])
    expect(plan.replace.get('4:0')).toMatchObject({
      type: 'chunk',
      key: 'm:folded',
      value: { id: 'm:folded', messageId: 'm', delta: 'abcd', done: true, folded: 4, seq: 3, author: 'agent', role: 'assistant' },
      headers: { operation: 'upsert' },
    })
  })

  it('orders the text by chunk seq, not by stream position', () => {
    const plan = planCompaction(rows(chunk('m', 0, 'a'), chunk('m', 2, 'c'), chunk('m', 1, 'b'), chunk('m', 3, 'd', true)), policy, NOW)
    expect(plan.replace.get('4:0')).toMatchObject({ value: { delta: 'abcd' } })
  })

  it('leaves unfinished, too recent, gapped, mixed-author and already folded messages alone', () => {
    const recent = (s: number, done = false) => chunk('r', s, 'x', done, { timestamp: NOW - 1000 })
    const cases = [
      rows(chunk('m', 0, 'a'), chunk('m', 1, 'b'), chunk('m', 2, 'c')),
      rows(recent(0), recent(1), recent(2, true)),
      rows(chunk('m', 0, 'a'), chunk('m', 1, 'b'), chunk('m', 3, 'd', true)),
      rows(chunk('m', 0, 'a'), chunk('m', 1, 'b', false, { author: 'mallory' }), chunk('m', 2, 'c', true)),
      rows(chunk('m', 0, 'a'), chunk('m', 2, 'abc', true, { folded: 3 }), chunk('m', 2, 'abc', true, { folded: 3 })),
    ]
    for (const c of cases) {
      const plan = planCompaction(c, policy, NOW)
      expect(plan.drop.size + plan.replace.size).toBe(0)
    }
  })

  it('leaves a message alone whose folded chunk would break the schema limits (text or id too long)', () => {
    const long = 'm'.repeat(195)
    const tooLongId = planCompaction(rows(chunk(long, 0, 'a'), chunk(long, 1, 'b'), chunk(long, 2, 'c', true)), policy, NOW)
    const big = 'x'.repeat(200 * 1024)
    const tooMuchText = planCompaction(rows(chunk('m', 0, big), chunk('m', 1, big), chunk('m', 2, 'c', true)), policy, NOW)
    expect(tooLongId.replace.size + tooMuchText.replace.size).toBe(0)
  })

  it('does nothing to chunks when chunk folding is off', () => {
    const plan = planCompaction(rows(chunk('m', 0, 'a'), chunk('m', 1, 'b'), chunk('m', 2, 'c', true)), { ...policy, chunks: false }, NOW)
    expect(plan.replace.size).toBe(0)
  })
})

describe('planCompaction: upserted entries', () => {
  it('keeps the first and last event of a tool call, only the last of an agent state', () => {
    const call = (status: string) => ev('tool-call', 'c1', { id: 'c1', messageId: 'm', name: 'shell', input: {}, status, timestamp: OLD })
    const state = (status: string) => ev('agent-state', 'agent', { id: 'agent', kind: 'state', agentId: 'agent', status, timestamp: OLD })
    const plan = planCompaction(rows(call('pending'), state('thinking'), call('running'), state('running-tool'), call('succeeded'), state('idle')), policy, NOW)
    expect([...plan.drop].sort()).toEqual(['2:0', '3:0', '4:0'])
  })

  it('keeps the first and last of a control or turn record', () => {
    const turn = (status: string) => ev('agent-state', 'turn:u1', { id: 'turn:u1', kind: 'turn', status, timestamp: OLD })
    const plan = planCompaction(rows(turn('accepted'), turn('streaming'), turn('tool'), turn('done')), policy, NOW)
    expect([...plan.drop].sort()).toEqual(['2:0', '3:0'])
  })
})

describe('planCompaction: presence', () => {
  const beat = (user: string, at: number) => ev('presence', user, { id: user, userId: user, lastSeen: at, timestamp: at })
  it('keeps only the newest event per person, and none older than the window', () => {
    const plan = planCompaction(rows(beat('ann', OLD), beat('bob', OLD), beat('ann', NOW - 1000), beat('ann', NOW - 10)), policy, NOW)
    expect([...plan.drop].sort()).toEqual(['1:0', '2:0', '3:0'])
  })

  it('drops an old leave (delete) and keeps a recent one', () => {
    const leave = (user: string, at: number) => ({ type: 'presence', key: user, headers: { operation: 'delete', timestamp: new Date(at).toISOString() } })
    const plan = planCompaction(rows(leave('ann', OLD), leave('bob', NOW - 1000)), policy, NOW)
    expect([...plan.drop]).toEqual(['1:0'])
  })
})

describe('planCompaction: terminal', () => {
  it('keeps the newest output lines within budget, and exit lines of kept inputs', () => {
    const plan = planCompaction(
      rows(
        term('i1', 'input', { data: 'yes' }),
        ...[0, 1, 2, 3, 4].map((n) => term(`i1:o${n}`, 'output', { stream: 'stdout', data: 'y\n', commandId: 'i1' })),
        term('i1:o5', 'exit', { exitCode: 0, commandId: 'i1' }),
      ),
      policy,
      NOW,
    )
    expect([...plan.drop].sort()).toEqual(['2:0', '3:0'])
  })

  it('drops the oldest inputs beyond their budget with their output and exit lines', () => {
    const plan = planCompaction(
      rows(
        term('i1', 'input', { data: 'a' }),
        term('i1:o0', 'output', { stream: 'stdout', data: 'A', commandId: 'i1' }),
        term('i1:o1', 'exit', { exitCode: 0, commandId: 'i1' }),
        term('i2', 'input', { data: 'b' }),
        term('i3', 'input', { data: 'c' }),
      ),
      policy,
      NOW,
    )
    expect([...plan.drop].sort()).toEqual(['1:0', '2:0', '3:0'])
  })

  it('keeps output within the byte budget and the last resize per person', () => {
    const plan = planCompaction(
      rows(
        term('o1', 'output', { stream: 'stdout', data: 'x'.repeat(600) }),
        term('r1', 'resize', { cols: 80, rows: 24 }),
        term('o2', 'output', { stream: 'stdout', data: 'x'.repeat(600) }),
        term('r2', 'resize', { cols: 100, rows: 30 }),
      ),
      { ...policy, terminalOutputBytes: 1000 },
      NOW,
    )
    expect([...plan.drop].sort()).toEqual(['1:0', '2:0'])
  })

  it('keeps malformed and unknown events', () => {
    const plan = planCompaction(rows({ nope: 1 }, ev('other', 'k', { a: 1 }), ev('other', 'k', { a: 2 })), policy, NOW)
    expect(plan.drop.size + plan.replace.size).toBe(0)
  })
})
