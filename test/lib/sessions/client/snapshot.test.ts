import { describe, expect, it } from 'vitest'
import { SnapshotBuilder } from '../../../../src/lib/sessions/client/snapshot'

const change = (type: string, key: string, operation: string, value?: Record<string, unknown>) => ({
  type,
  key,
  value,
  headers: { operation },
})

describe('stream snapshot', () => {
  it('keeps the last event per (type, key) in first-seen order, drops deletes, follows resets', () => {
    const b = new SnapshotBuilder()
    b.apply(
      [
        change('chunk', 'm:0', 'insert', { t: 'a' }),
        change('presence', 'u1', 'upsert', { s: 'active' }),
        change('chunk', 'm:1', 'insert', { t: 'b' }),
      ],
      'o1',
    )
    b.apply([change('presence', 'u1', 'upsert', { s: 'idle' }), change('presence', 'u2', 'upsert', { s: 'active' })], 'o2')
    b.apply([change('presence', 'u2', 'delete')], 'o3')
    const snap = b.toSnapshot()
    expect(snap.offset).toBe('o3')
    expect(snap.events.map((e) => (e as { key: string }).key)).toEqual(['m:0', 'u1', 'm:1'])
    expect((snap.events[1] as { value: { s: string } }).value.s).toBe('idle')

    b.apply([{ headers: { control: 'reset' } }, change('chunk', 'x:0', 'insert', { t: 'c' })], 'o4')
    expect(b.toSnapshot().events.map((e) => (e as { key: string }).key)).toEqual(['x:0'])
  })

  it('starts from a saved snapshot', () => {
    const b = new SnapshotBuilder({ offset: 'o9', events: [change('chunk', 'm:0', 'insert', { t: 'a' })] })
    expect(b.offset).toBe('o9')
    expect(b.size).toBe(1)
  })
})
