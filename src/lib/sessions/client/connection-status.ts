/**
 * The visible connection state of one session stream, as a tiny external store
 * (subscribe + getSnapshot) that React reads with useSyncExternalStore.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline'

export interface ConnectionStatus {
  state: ConnectionState
  /** when the next reconnect attempt happens (epoch ms), while reconnecting */
  nextRetryAt?: number
  /** failed attempts since the last success */
  attempt: number
  /** why we are reconnecting or offline */
  reason?: string
  /** offline because the server refused us (bad token, deleted session): retrying will not help */
  fatal?: boolean
  /** the stream's next offset as last applied by this client */
  offset?: string
  /** the stream has delivered everything up to its tail at least once */
  caughtUp: boolean
  /** the stream is closed (the session ended): nothing more will come */
  ended?: boolean
}

export class ConnectionStatusStore {
  private status: ConnectionStatus = { state: 'connecting', attempt: 0, caughtUp: false }
  private readonly listeners = new Set<() => void>()
  private wakers = new Set<() => void>()
  private droppers = new Set<() => void>()

  getSnapshot = (): ConnectionStatus => this.status

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private set(patch: Partial<ConnectionStatus>): void {
    const next = { ...this.status, ...patch }
    const changed = (Object.keys(next) as Array<keyof ConnectionStatus>).some((k) => next[k] !== this.status[k])
    if (!changed) return
    this.status = next
    for (const listener of this.listeners) listener()
  }

  markLive(): void {
    this.set({ state: 'live', attempt: 0, nextRetryAt: undefined, reason: undefined, fatal: undefined })
  }

  markReconnecting(attempt: number, nextRetryAt: number, reason: string): void {
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false
    this.set({ state: offline ? 'offline' : 'reconnecting', attempt, nextRetryAt, reason: offline ? 'no network' : reason })
  }

  markDropped(reason: string): void {
    if (this.status.state === 'live' && !this.status.ended) this.set({ state: 'reconnecting', nextRetryAt: Date.now(), reason })
  }

  markEnded(): void {
    this.set({ ended: true })
  }

  markFatal(reason: string): void {
    this.set({ state: 'offline', fatal: true, reason, nextRetryAt: undefined })
  }

  markApplied(offset: string, upToDate: boolean): void {
    this.set({ offset, caughtUp: this.status.caughtUp || upToDate })
  }

  /** Registers a sleeper that `retryNow` wakes early. */
  addWaker(wake: () => void): () => void {
    this.wakers.add(wake)
    return () => this.wakers.delete(wake)
  }

  /** Registers an open live connection that `dropLive` can cut. */
  addLiveConnection(cut: () => void): () => void {
    this.droppers.add(cut)
    return () => this.droppers.delete(cut)
  }

  /**
   * Cuts open live connections (they resume from the last applied offset). Used when the browser
   * reports the network gone: a dead TCP connection can otherwise look open for minutes.
   */
  dropLive(reason: string): void {
    for (const cut of [...this.droppers]) cut()
    if (!this.status.ended && this.status.state !== 'offline') this.set({ state: 'offline', reason, nextRetryAt: undefined })
  }

  /** Skips the current backoff wait (the "retry now" button, or the browser coming back online). */
  retryNow(): void {
    for (const wake of [...this.wakers]) wake()
  }
}
