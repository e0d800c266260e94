/**
 * A compacted snapshot of a session stream as this client applied it: the last change event per
 * (type, key), in first-seen order, plus the offset it is current to. Pure; the browser cache
 * (snapshot-cache.ts) persists it so a reload resumes reading from `offset` instead of replaying
 * the whole stream.
 */
export interface StreamSnapshot {
  offset: string
  events: unknown[]
  /** the opening view's cursors when the page opened from one (session-view.ts): older parts are on the server */
  history?: { olderBefore: string | null; terminalBefore: string | null }
}

interface ChangeLike {
  type: string
  key: string
  headers: { operation?: string; control?: string }
}

function isChange(event: unknown): event is ChangeLike {
  if (typeof event !== 'object' || event === null) return false
  const e = event as Record<string, unknown>
  return typeof e.type === 'string' && typeof e.key === 'string' && typeof e.headers === 'object' && e.headers !== null
}

function isReset(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false
  const headers = (event as { headers?: { control?: unknown } }).headers
  return headers?.control === 'reset'
}

export class SnapshotBuilder {
  private readonly latest = new Map<string, unknown>()
  offset = '-1'

  constructor(from?: StreamSnapshot) {
    if (from) this.apply(from.events, from.offset)
  }

  /** Folds one applied batch in. */
  apply(events: readonly unknown[], offset: string): void {
    for (const event of events) {
      if (isReset(event)) {
        this.latest.clear()
        continue
      }
      if (!isChange(event)) continue
      const id = `${event.type}\u0000${event.key}`
      if (event.headers.operation === 'delete') this.latest.delete(id)
      else this.latest.set(id, event)
    }
    this.offset = offset
  }

  toSnapshot(): StreamSnapshot {
    return { offset: this.offset, events: [...this.latest.values()] }
  }

  get size(): number {
    return this.latest.size
  }
}
