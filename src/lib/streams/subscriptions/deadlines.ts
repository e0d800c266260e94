/** One pending timer per key (a subscription's lease or next retry); all cleared on close. */
export class Deadlines {
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private closed = false

  /** Replaces any timer for `key` with one firing `delayMs` from now. */
  set(key: string, delayMs: number, fire: () => void): void {
    this.clear(key)
    if (this.closed) return
    const timer = setTimeout(
      () => {
        this.timers.delete(key)
        fire()
      },
      Math.max(0, delayMs),
    )
    timer.unref()
    this.timers.set(key, timer)
  }

  clear(key: string): void {
    const t = this.timers.get(key)
    if (t) clearTimeout(t)
    this.timers.delete(key)
  }

  close(): void {
    this.closed = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
  }
}
