/** Benchmark payloads: JSON messages of exactly 200 bytes carrying a send timestamp. */

export const MESSAGE_BYTES = 200

export interface BenchMessage {
  /** writer id */
  w: number
  /** per-writer sequence */
  s: number
  /** send time, performance.now() of the load generator (same process as the readers) */
  t: number
  /** padding to MESSAGE_BYTES */
  p: string
}

export function makeMessage(w: number, s: number, t = 0): string {
  const head = JSON.stringify({ w, s, t: Math.round(t * 1000) / 1000, p: '' })
  const pad = MESSAGE_BYTES - Buffer.byteLength(head)
  if (pad < 0) throw new Error('message header longer than MESSAGE_BYTES')
  return head.slice(0, -2) + 'x'.repeat(pad) + '"}'
}

/** A JSON-mode batch body: one array holding `count` messages (flattened into `count` messages). */
export function makeBatch(w: number, firstSeq: number, count: number): string {
  const parts: string[] = []
  for (let i = 0; i < count; i++) parts.push(makeMessage(w, firstSeq + i))
  return `[${parts.join(',')}]`
}
