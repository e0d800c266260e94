import { describe, expect, it } from 'vitest'
import { CURSOR_EPOCH_MS, CURSOR_INTERVAL_MS, currentInterval, responseCursor } from '../../../src/lib/streams/cursor'

describe('cursors', () => {
  const now = CURSOR_EPOCH_MS + 1000 * CURSOR_INTERVAL_MS + 5

  it('counts 20 s intervals since 2024-10-09', () => {
    expect(currentInterval(CURSOR_EPOCH_MS)).toBe(0)
    expect(currentInterval(now)).toBe(1000)
  })

  it('answers the current interval to clients without a cursor or with an older one', () => {
    expect(responseCursor(null, now)).toBe('1000')
    expect(responseCursor('999', now)).toBe('1000')
    expect(responseCursor('garbage', now)).toBe('1000')
  })

  it('answers a strictly larger cursor when the client echoes the current or a future one', () => {
    expect(Number(responseCursor('1000', now, () => 0))).toBe(1001)
    expect(Number(responseCursor('1000', now, () => 0.999999))).toBe(1000 + 180)
    expect(Number(responseCursor('5000', now, () => 0.5))).toBeGreaterThan(5000)
  })
})
