/**
 * How much an SSE reader that does not keep up may cost the server, and a counter of what readers
 * cost now (tests and operators read it; specs/streams.md "Slow readers").
 */

export interface SseLimits {
  /**
   * Bytes queued on the server for one reader (web stream queue + socket buffer) at which it
   * takes no new frames: it leaves the live fan-out and later catches up from SQLite.
   */
  maxBufferBytes: number
  /** A reader that stays at the limit this long is cut off (ends after a complete event; resumes from its offset). */
  slowGraceMs: number
  /** A reader at the limit while this many bytes are appended to its stream is cut off at once. */
  maxLagBytes: number
  /** An ended response whose client has not taken the rest within this long is disconnected. */
  endDrainMs: number
}

export const DEFAULT_SSE_LIMITS: SseLimits = {
  maxBufferBytes: 1024 * 1024,
  slowGraceMs: 30_000,
  maxLagBytes: 64 * 1024 * 1024,
  endDrainMs: 10_000,
}

/** What the open SSE responses hold right now, and how often slow readers were cut off. */
export interface SseStatsSnapshot {
  readers: number
  /** Bytes queued on the server (not yet in the kernel) for all readers together. */
  bufferedBytes: number
  /** Most bytes one reader ever had queued right after a write (bounded by maxBufferBytes + one frame). */
  peakReaderBufferedBytes: number
  /** Readers ended because they stayed too slow. */
  cutOffs: number
  /** Readers currently at their limit (out of the live fan-out). */
  stalled: number
  /** Ended responses whose client did not take the end within endDrainMs, so the connection was dropped. */
  dropped: number
}

export interface SseReaderState {
  bufferedBytes(): number
  readonly stalled: boolean
  /** Ends the response now (server shutdown). */
  shutdown(): void
}

export class SseStats {
  private readonly readers = new Set<SseReaderState>()
  peakReaderBufferedBytes = 0
  cutOffs = 0
  dropped = 0

  add(reader: SseReaderState): void {
    this.readers.add(reader)
  }

  remove(reader: SseReaderState): void {
    this.readers.delete(reader)
  }

  noteBuffered(bytes: number): void {
    if (bytes > this.peakReaderBufferedBytes) this.peakReaderBufferedBytes = bytes
  }

  snapshot(): SseStatsSnapshot {
    let bufferedBytes = 0
    let stalled = 0
    for (const r of this.readers) {
      bufferedBytes += r.bufferedBytes()
      if (r.stalled) stalled++
    }
    return { readers: this.readers.size, bufferedBytes, peakReaderBufferedBytes: this.peakReaderBufferedBytes, cutOffs: this.cutOffs, stalled, dropped: this.dropped }
  }

  /** Ends every open response (server shutdown); stalled readers are not in the hub to be woken. */
  shutdownAll(): void {
    for (const r of [...this.readers]) r.shutdown()
  }
}
