import { describe, expect, it } from 'vitest'
import { retryDelayMs } from '../../../src/lib/common/backoff'
import { compareOffsets, isAtOrAfter } from '../../../src/lib/sessions/client/offsets'

describe('reconnect backoff', () => {
  const policy = { initialMs: 100, maxMs: 1000, multiplier: 2 }

  it('grows exponentially from the initial delay', () => {
    // With random() = 1 the delay is the full ceiling for the attempt.
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, policy, () => 1))).toEqual([100, 200, 400, 800])
  })

  it('never exceeds the cap', () => {
    expect(retryDelayMs(30, policy, () => 1)).toBe(1000)
    expect(retryDelayMs(1000, policy, () => 0.999)).toBeLessThanOrEqual(1000)
  })

  it('is jittered between half and all of the ceiling', () => {
    expect(retryDelayMs(3, policy, () => 0)).toBe(200)
    expect(retryDelayMs(3, policy, () => 0.5)).toBe(300)
    const seen = new Set(Array.from({ length: 50 }, () => retryDelayMs(4, policy)))
    expect(seen.size).toBeGreaterThan(1)
    for (const d of seen) expect(d >= 400 && d <= 800).toBe(true)
  })
})

describe('offset order', () => {
  it('puts -1 before everything and compares fixed-width offsets as strings', () => {
    expect(compareOffsets('-1', '0000000000000000_0000000000000000')).toBe(-1)
    expect(compareOffsets('0000000000000002_0000000000000010', '0000000000000001_0000000000009999')).toBe(1)
    expect(isAtOrAfter('0000000000000002_0000000000000010', '0000000000000002_0000000000000010')).toBe(true)
    expect(isAtOrAfter('-1', '0000000000000000_0000000000000001')).toBe(false)
  })
})
