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

  it('sends a null cursor once when the pointer leaves, never ahead of the last position', () => {
    sent = []
    controller.clearCursor() // nothing shown yet: nothing to take back
    expect(sent).toEqual([])
    controller.moveCursor({ x: 0.1, y: 0.1 })
    vi.advanceTimersByTime(20)
    controller.moveCursor({ x: 0.2, y: 0.2 }) // within the throttle: held back, then replaced by the null
    controller.clearCursor()
    controller.clearCursor()
    vi.advanceTimersByTime(100)
    expect(sent.filter((p) => p.cursor !== undefined).map((p) => p.cursor)).toEqual([{ x: 0.1, y: 0.1 }, null])
    // The next position shows the cursor again.
    controller.moveCursor({ x: 0.3, y: 0.3 })
    vi.advanceTimersByTime(100)
    expect(sent[sent.length - 1].cursor).toEqual({ x: 0.3, y: 0.3 })
  })

  it('takes the cursor away when the tab is hidden', () => {
    controller.moveCursor({ x: 0.5, y: 0.5 })
    vi.advanceTimersByTime(100)
    controller.setHidden(true)
    vi.advanceTimersByTime(100)
    expect(sent[sent.length - 1]).toEqual({ status: 'away', cursor: null })
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
