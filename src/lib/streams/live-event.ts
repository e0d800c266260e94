import { encodeOffset, type Position } from './offsets'
import { frameJsonRows } from './json-framing'
import { sseControlEvent, sseDataEvent } from './sse'
import { currentInterval } from './cursor'

export type SsePayloadKind = 'text' | 'json' | 'base64'

/**
 * What one committed batch did to one stream. Appends in the same group commit are merged, so
 * a reader gets one data frame per batch and `upToDate` in its control event is exact.
 */
export class LiveEvent {
  readonly rows: Buffer[] = []
  closed = false
  deleted = false
  private frames = new Map<SsePayloadKind, Buffer>()
  private control: Buffer | undefined
  private controlInterval = -1
  private full: Buffer | undefined
  private fullInterval = -1
  private fullKind: SsePayloadKind | undefined

  constructor(
    readonly streamId: number,
    /** Tail before the batch. */
    readonly prev: Position,
    /** Tail after the batch. */
    public tail: Position,
  ) {}

  get tailOffset(): string {
    return encodeOffset(this.tail)
  }

  /** The SSE data frame for this batch, encoded once and shared by every reader. */
  dataFrame(kind: SsePayloadKind): Buffer | null {
    if (this.rows.length === 0) return null
    let frame = this.frames.get(kind)
    if (!frame) {
      const payload =
        kind === 'json'
          ? frameJsonRows(this.rows)
          : kind === 'base64'
            ? Buffer.from(Buffer.concat(this.rows).toString('base64'))
            : Buffer.concat(this.rows)
      frame = sseDataEvent(payload)
      this.frames.set(kind, frame)
    }
    return frame
  }

  /** Data frame followed by the shared control frame: one buffer, one write per reader. */
  sharedFrame(kind: SsePayloadKind, nowMs: number = Date.now()): Buffer {
    // Called once per reader per batch: the hit path allocates nothing.
    if (this.full && this.fullKind === kind && this.fullInterval === currentInterval(nowMs)) return this.full
    const control = this.sharedControl(nowMs)
    const data = this.dataFrame(kind)
    this.full = data ? Buffer.concat([data, control.frame]) : control.frame
    this.fullInterval = control.interval
    this.fullKind = kind
    return this.full
  }

  /** The control frame with the current interval as cursor (shared by readers without a newer cursor). */
  sharedControl(nowMs: number = Date.now()): { frame: Buffer; interval: number } {
    const interval = currentInterval(nowMs)
    if (!this.control || this.controlInterval !== interval) {
      this.control = sseControlEvent(
        this.closed
          ? { streamNextOffset: this.tailOffset, streamClosed: true }
          : { streamNextOffset: this.tailOffset, streamCursor: String(interval), upToDate: true },
      )
      this.controlInterval = interval
    }
    return { frame: this.control, interval }
  }
}
