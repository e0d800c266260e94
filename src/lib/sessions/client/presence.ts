/**
 * This person's presence in a session: a heartbeat every 10 s, cursor positions sent at most every
 * 50 ms (the latest one always goes out), "idle" after a minute without input, "away" while the
 * tab is hidden, and "active" again on the next input. When the pointer leaves the shared area
 * (or the window loses focus, or the tab is hidden) the cursor is sent as null, so it does not
 * stay frozen on others' screens; that null goes through the same throttle as positions, so it
 * can never overtake the last position on the way to the server. Timer-driven and DOM-free so tests can
 * drive it with fake timers; the browser wiring lives in usePresence.
 */
import { PRESENCE_HEARTBEAT_MS } from '../channel-constants'
import type { Presence } from '../channel-schemas'
import type { PresencePatch } from './actions'

export const CURSOR_THROTTLE_MS = 50
export const IDLE_AFTER_MS = 60_000

export interface PresenceTimings {
  heartbeatMs: number
  cursorThrottleMs: number
  idleAfterMs: number
}

export const DEFAULT_PRESENCE_TIMINGS: PresenceTimings = {
  heartbeatMs: PRESENCE_HEARTBEAT_MS,
  cursorThrottleMs: CURSOR_THROTTLE_MS,
  idleAfterMs: IDLE_AFTER_MS,
}

export class PresenceController {
  private status: Presence['status'] = 'active'
  private lastInput: number
  private lastCursorSent = Number.NEGATIVE_INFINITY
  private pendingCursor: Presence['cursor'] | undefined
  /** the cursor others see now (the last one sent): null when hidden */
  private shownCursor: Presence['cursor'] = null
  private cursorTimer: ReturnType<typeof setTimeout> | undefined
  private heartbeat: ReturnType<typeof setInterval> | undefined
  private idleTimer: ReturnType<typeof setTimeout> | undefined
  private hidden = false

  constructor(
    private readonly send: (patch: PresencePatch) => void,
    private readonly timings: PresenceTimings = DEFAULT_PRESENCE_TIMINGS,
    private readonly now: () => number = Date.now,
  ) {
    this.lastInput = now()
  }

  get currentStatus(): Presence['status'] {
    return this.status
  }

  start(initial: PresencePatch = {}): void {
    this.send({ status: this.status, ...initial })
    this.heartbeat = setInterval(() => this.send({ status: this.status }), this.timings.heartbeatMs)
    this.armIdle()
  }

  stop(): void {
    clearInterval(this.heartbeat)
    clearTimeout(this.idleTimer)
    clearTimeout(this.cursorTimer)
    this.heartbeat = this.idleTimer = this.cursorTimer = undefined
  }

  /** Any keyboard, pointer or scroll input from this person. */
  input(): void {
    this.lastInput = this.now()
    if (this.status !== 'active' && !this.hidden) this.setStatus('active')
    this.armIdle()
  }

  /** Pointer position in the shared coordinate space (fractions of the session pane). */
  moveCursor(cursor: Presence['cursor']): void {
    this.input()
    this.pendingCursor = cursor
    this.scheduleCursor()
  }

  private scheduleCursor(): void {
    const wait = this.lastCursorSent + this.timings.cursorThrottleMs - this.now()
    if (wait <= 0) this.flushCursor()
    else this.cursorTimer ??= setTimeout(() => this.flushCursor(), wait)
  }

  /** The pointer left the shared area (or the window): others stop seeing this cursor. */
  clearCursor(): void {
    if (this.pendingCursor === undefined && this.shownCursor === null) return
    this.pendingCursor = null
    this.scheduleCursor()
  }

  setFocusedPane(pane: string | null): void {
    this.send({ status: this.status, focusedPane: pane })
  }

  setHidden(hidden: boolean): void {
    this.hidden = hidden
    if (hidden) {
      this.setStatus('away')
      this.clearCursor()
    } else this.input()
  }

  private flushCursor(): void {
    this.cursorTimer = undefined
    if (this.pendingCursor === undefined) return
    this.lastCursorSent = this.now()
    const cursor = this.pendingCursor
    this.pendingCursor = undefined
    if (cursor === null && this.shownCursor === null) return
    this.shownCursor = cursor ?? null
    this.send({ status: this.status, cursor })
  }

  private setStatus(status: Presence['status']): void {
    if (this.status === status) return
    this.status = status
    this.send({ status })
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (!this.hidden && this.now() - this.lastInput >= this.timings.idleAfterMs) this.setStatus('idle')
    }, this.timings.idleAfterMs)
  }
}
