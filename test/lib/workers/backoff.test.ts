/** The restart backoff policy (pure). */
import { describe, expect, it } from 'vitest'
import { DEFAULT_BACKOFF, restartDelay } from '../../../src/lib/workers/supervisor'

describe('restart backoff', () => {
  it('restarts at once after a first crash, then doubles up to the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => restartDelay(n, 1_000).delayMs)
    expect(delays).toEqual([0, 250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000])
  })

  it('treats a crash after a long healthy run as a first crash', () => {
    expect(restartDelay(7, DEFAULT_BACKOFF.stableAfterMs)).toEqual({ delayMs: 0, crashes: 1 })
    expect(restartDelay(7, DEFAULT_BACKOFF.stableAfterMs - 1)).toEqual({ delayMs: 8_000, crashes: 7 })
  })
})
