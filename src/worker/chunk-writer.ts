/**
 * Streams one assistant message as chunk events, batched: deltas from the model are buffered and
 * written as one chunk every `intervalMs` (or when the buffer grows past `maxChars`), not one
 * event per token. `finish()` writes the last chunk with `done: true`.
 */
import type { Chunk } from './events'
import type { Publisher } from './publisher'

export interface ChunkWriterOptions {
  publisher: Publisher
  agentId: string
  messageId: string
  turn: number
  /** First seq to write (after a restart: the next seq after what the stream has). */
  startSeq: number
  intervalMs?: number
  maxChars?: number
  /** Called with each delta written (the worker keeps its view of the step text current). */
  onWrite?: (seq: number, delta: string) => void
}

export class ChunkWriter {
  private buffer = ''
  private seq: number
  private timer: NodeJS.Timeout | null = null
  private finished = false

  constructor(private readonly options: ChunkWriterOptions) {
    this.seq = options.startSeq
  }

  write(delta: string): void {
    if (this.finished || !delta) return
    this.buffer += delta
    if (this.buffer.length >= (this.options.maxChars ?? 4096)) this.flush(false)
    else this.timer ??= setTimeout(() => this.flush(false), this.options.intervalMs ?? 50)
  }

  private flush(done: boolean): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (!this.buffer && !done) return
    const chunk: Omit<Chunk, 'timestamp'> = {
      id: `${this.options.messageId}:${this.seq}`,
      messageId: this.options.messageId,
      role: 'assistant',
      author: this.options.agentId,
      turn: this.options.turn,
      seq: this.seq,
      delta: this.buffer,
      done,
    }
    this.options.publisher.publish('chunk', chunk)
    this.options.onWrite?.(this.seq, this.buffer)
    this.seq++
    this.buffer = ''
  }

  /** Writes what is buffered without ending the message (before tool-call records). */
  drain(): void {
    this.flush(false)
  }

  /** Writes what is buffered and ends the message. */
  finish(): void {
    if (this.finished) return
    this.flush(true)
    this.finished = true
  }
}
