import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { PresencePatch } from '../../../../src/lib/sessions/client/actions'
import { PresenceController } from '../../../../src/lib/sessions/client/presence'

describe('presence controller', () => {
  let sent: PresencePatch[]
  let controller: PresenceController

  beforeEach(() => {
    vi.useFakeTimers()
    sent = []
    controller = new PresenceController(
      (p) => sent.push(p),
      { heartbeatMs: 10_000, cursorThrottleMs: 50, idleAfterMs: 60_000 },
      () => Date.now(),
    )
    controller.start({ focusedPane: 'session' })
  })

  afterEach(() => {
    controller.stop()
    vi.useRealTimers()
  })

  it('announces itself, then heart-beats every 10 s', () => {
    expect(sent).toEqual([{ status: 'active', focusedPane: 'session' }])
    vi.advanceTimersByTime(30_000)
    expect(sent.slice(1)).toEqual([{ status: 'active' }, { status: 'active' }, { status: 'active' }])
  })

  it('sends at most one cursor position per 50 ms, always ending with the latest', () => {
    sent = []
    for (let i = 0; i < 10; i++) {
      controller.moveCursor({ x: i / 10, y: 0 })
      vi.advanceTimersByTime(10)
    }
    vi.advanceTimersByTime(100)
    const cursors = sent.filter((p) => p.cursor !== undefined).map((p) => p.cursor?.x)
    // 100 ms of movement: the first at once, then at most one per 50 ms, then the last one.
    expect(cursors.length).toBeLessThanOrEqual(3)
    expect(cursors[0]).toBe(0)
    expect(cursors[cursors.length - 1]).toBe(0.9)
  })

  it('goes idle after a minute without input, and active on the next input', () => {
    vi.advanceTimersByTime(59_000)
    expect(controller.currentStatus).toBe('active')
    vi.advanceTimersByTime(2_000)
    expect(controller.currentStatus).toBe('idle')
    expect(sent).toContainEqual({ status: 'idle' })
    controller.input()
    expect(controller.currentStatus).toBe('active')
    expect(sent[sent.length - 1]).toEqual({ status: 'active' })
  })

  it('is away while the tab is hidden', () => {
    controller.setHidden(true)
    expect(sent[sent.length - 1]).toEqual({ status: 'away' })
    controller.input() // a stray event while hidden does not make it active
    expect(controller.currentStatus).toBe('away')
    controller.setHidden(false)
    expect(controller.currentStatus).toBe('active')
  })
})
