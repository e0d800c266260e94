import { describe, expect, it } from 'vitest'
import { type LimitsView, timeLeftNote } from '../../../src/app/components/limits-text'
import { PATTERN_DEFAULT_LIMITS } from '../../../src/lib/sessions/limits'
import type { SessionPattern } from '../../../src/lib/sessions/session-types'

const MIN = 60_000
const session = (pattern: SessionPattern, extra: Partial<LimitsView> = {}): LimitsView => ({
  pattern,
  status: 'active',
  limits: PATTERN_DEFAULT_LIMITS[pattern],
  createdAt: 0,
  endReason: null,
  usage: { lastActivityAt: 0 },
  ...extra,
})

describe('the agent panel says what the limits will do, per pattern', () => {
  it('hybrid sleeps after its idle limit and wakes on the next message; it never says it ends', () => {
    expect(timeLeftNote(session('hybrid'), 5 * MIN, false)).toBe('sleeps after 25m idle, wakes on the next message')
    expect(timeLeftNote(session('hybrid', { status: 'idle' }), 40 * MIN, false)).toBe('asleep: the next message wakes it')
  })

  it('ephemeral ends when its agent finishes or when idle, and is then deleted', () => {
    expect(timeLeftNote(session('ephemeral'), 5 * MIN, false)).toBe('ends when its agent finishes or if idle for 10m, then is deleted')
    const noIdle = session('ephemeral', { limits: { ...PATTERN_DEFAULT_LIMITS.ephemeral, maxIdleTimeMs: null } })
    expect(timeLeftNote(noIdle, 0, false)).toBe('ends when its agent finishes, then is deleted')
  })

  it('long-running and single-container have no limit by default, and end on an idle limit when given one', () => {
    expect(timeLeftNote(session('long-running'), 0, false)).toBe('no lifetime limit')
    expect(timeLeftNote(session('single-container'), 0, false)).toBe('no lifetime limit')
    const limited = session('long-running', { limits: { ...PATTERN_DEFAULT_LIMITS['long-running'], maxIdleTimeMs: 10 * MIN } })
    expect(timeLeftNote(limited, 4 * MIN, false)).toBe('ends if idle for 6m')
  })

  it('an ended session gives its reason', () => {
    expect(timeLeftNote(session('hybrid', { status: 'terminated', endReason: 'terminated' }), 0, true)).toBe('terminated')
  })
})
