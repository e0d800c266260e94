/**
 * Wraps a Durable Streams SSE body so that the reader only ever sees whole batches: the `data`
 * events of a batch are held back until the `control` event carrying their offset arrives, then
 * passed on together. If the connection breaks mid-batch the partial batch is dropped and the
 * body ends cleanly, so the client reconnects from the last offset it fully applied: a batch is
 * applied exactly once, never half, never twice. A read the reader aborted itself errors instead:
 * the Durable Streams client aborts its SSE request to pause a hidden tab and tells that pause
 * from a dropped connection only by the error (a clean end made it treat the paused read as a
 * closed connection, and its reconnect then failed: a tab switched away lost live updates).
 */
export interface SseControl {
  streamNextOffset?: string
  upToDate?: boolean
  streamClosed?: boolean
}

export interface AtomicSseHooks {
  /** the body ended or broke without our abort: the connection dropped */
  onDrop?: (reason: string) => void
  /** a control event went through (the reader is current up to its offset) */
  onControl?: (control: SseControl) => void
}

/** Splits SSE text into complete events (terminated by a blank line); returns the rest. */
export function splitSseEvents(buffer: string): { events: string[]; rest: string } {
  const normalized = buffer.replace(/\r\n/g, '\n').replace(/\r/g, '\n')
  const parts = normalized.split('\n\n')
  const rest = parts.pop() ?? ''
  return { events: parts.filter((p) => p.length > 0), rest }
}

export function sseEventType(event: string): string | undefined {
  for (const line of event.split('\n')) {
    if (line.startsWith('event:')) return line.slice(6).trim()
  }
  return undefined
}

function sseEventData(event: string): string {
  return event
    .split('\n')
    .filter((l) => l.startsWith('data:'))
    .map((l) => (l.startsWith('data: ') ? l.slice(6) : l.slice(5)))
    .join('\n')
}

export function atomicSseBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  hooks: AtomicSseHooks = {},
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let buffer = ''
  let held: string[] = []
  let finished = false

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, reason: string) => {
    if (finished) return
    finished = true
    held = []
    if (!signal?.aborted) hooks.onDrop?.(reason)
    reader.cancel().catch(() => undefined)
    controller.close()
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
          chunk = await reader.read()
        } catch (err) {
          if (signal?.aborted) {
            finished = true
            held = []
            controller.error(signal.reason ?? err)
            return
          }
          finish(controller, err instanceof Error ? err.message : 'connection lost')
          return
        }
        if (chunk.done) {
          finish(controller, 'server closed the connection')
          return
        }
        buffer += decoder.decode(chunk.value, { stream: true })
        const { events, rest } = splitSseEvents(buffer)
        buffer = rest
        let out = ''
        for (const event of events) {
          const type = sseEventType(event)
          if (type === 'data') {
            held.push(event)
          } else if (type === 'control') {
            out += [...held, event].map((e) => e + '\n\n').join('')
            held = []
            try {
              hooks.onControl?.(JSON.parse(sseEventData(event)) as SseControl)
            } catch {
              // a malformed control event is the parser's to report; we only observe
            }
          }
          // comments and unknown events (keep-alives) carry no state: dropped
        }
        if (out) {
          controller.enqueue(encoder.encode(out))
          return
        }
      }
    },
    cancel() {
      finished = true
      return reader.cancel().catch(() => undefined)
    },
  })
}
