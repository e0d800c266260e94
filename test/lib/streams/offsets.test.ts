import { describe, expect, it } from 'vitest'
import { START_POSITION, comparePositions, decodeOffset, encodeOffset, parseOffsetParam } from '../../../src/lib/streams/offsets'

describe('offsets', () => {
  it('encodes the stream start as the all-zero token', () => {
    expect(encodeOffset(START_POSITION)).toBe('0000000000000000_0000000000000000')
  })

  it('round-trips positions through fixed-width tokens', () => {
    const p = { seq: 42, pos: 1_234_567 }
    const token = encodeOffset(p)
    expect(token).toHaveLength(33)
    expect(decodeOffset(token)).toEqual(p)
  })

  it('sorts tokens lexicographically in stream order', () => {
    const positions = [
      { seq: 9, pos: 10 },
      { seq: 10, pos: 11 },
      { seq: 100, pos: 5000 },
      { seq: 2, pos: 3 },
    ]
    const byToken = [...positions].sort((a, b) => (encodeOffset(a) < encodeOffset(b) ? -1 : 1))
    const byPosition = [...positions].sort(comparePositions)
    expect(byToken).toEqual(byPosition)
  })

  it('rejects malformed tokens', () => {
    for (const bad of ['', '1_2', 'abc', '0000000000000000-0000000000000000', '0000000000000000_000000000000000a', '../etc', '0,1']) {
      expect(decodeOffset(bad)).toBeNull()
    }
  })

  it('parses the -1 and now sentinels and a missing parameter', () => {
    expect(parseOffsetParam(null)).toEqual({ kind: 'start' })
    expect(parseOffsetParam('-1')).toEqual({ kind: 'start' })
    expect(parseOffsetParam('now')).toEqual({ kind: 'now' })
    expect(parseOffsetParam('0000000000000003_0000000000000017')).toEqual({ kind: 'at', at: { seq: 3, pos: 17 } })
    expect(parseOffsetParam('nope')).toBeNull()
  })
})
