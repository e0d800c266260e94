/**
 * `sqlite.commit` spans for the group commit (src/lib/streams/write-queue.ts): every queued write
 * gets one, a child of the span that queued it (the request's writer or gate work), all starting
 * when the batch transaction begins and ending when it committed, with the batch's size as an
 * attribute. One span per write rather than one per batch keeps each request's tree complete.
 * Off: `captureParent` answers null and the rest is never called.
 */
import { type Context, SpanStatusCode, trace } from '@opentelemetry/api'
import { activeContext, startSpan } from './tracing'

export const captureParent = activeContext

type Spans = Array<NonNullable<ReturnType<typeof startSpan>>>

/** Starts the spans of a batch whose writes captured these parents (nulls: queued while off). */
export function startCommitSpans(parents: ReadonlyArray<Context | null | undefined>): Spans | null {
  let spans: Spans | null = null
  const now = Date.now()
  for (const parent of parents) {
    // Background writes (monitor, compaction, expiry) have no span to hang a commit on: no root spans.
    if (!parent || !trace.getSpan(parent)) continue
    const span = startSpan('sqlite.commit', { 'tether.batch.operations': parents.length }, parent, now)
    if (span) (spans ??= []).push(span)
  }
  return spans
}

export function endCommitSpans(spans: Spans | null, err?: unknown): void {
  if (!spans) return
  for (const span of spans) {
    if (err !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) })
    span.end()
  }
}
