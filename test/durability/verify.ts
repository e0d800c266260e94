/**
 * Reading streams back and checking them against what the workload sent. Checks return a list
 * of violations (empty = fine) so a failure names every broken message, not just the first.
 */
import type { Pool } from 'undici'
import type { SentRequest, Source } from './workload'

/** Every message of a JSON stream, from the start, following Stream-Next-Offset to the tail. */
export async function readAll(pool: Pool, path: string): Promise<{ messages: unknown[]; violations: string[] }> {
  const messages: unknown[] = []
  const violations: string[] = []
  let offset = '-1'
  for (let i = 0; ; i++) {
    const res = await pool.request({ path: `${path}?offset=${encodeURIComponent(offset)}`, method: 'GET' })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`GET ${path}?offset=${offset}: HTTP ${res.statusCode} ${text}`)
    try {
      const batch = JSON.parse(text) as unknown
      if (!Array.isArray(batch)) violations.push(`${path}@${offset}: body is not a JSON array`)
      else messages.push(...batch)
    } catch (err) {
      violations.push(`${path}@${offset}: body does not parse: ${(err as Error).message}`)
    }
    const next = res.headers['stream-next-offset']
    if (typeof next !== 'string') throw new Error(`GET ${path}: no Stream-Next-Offset`)
    if (res.headers['stream-up-to-date'] === 'true' || next === offset) break
    offset = next
    if (i > 100_000) throw new Error(`GET ${path}: no end in sight`)
  }
  return { messages, violations }
}

interface Located {
  request: SentRequest
  index: number
}

/**
 * Checks one stream's messages against the requests all sources sent to it:
 * - every message is byte-for-byte (after JSON normalisation) one that was sent, and appears once;
 * - every acknowledged request's messages are all there, and no request is there in part;
 * - per source, messages appear in send order (seq, then index within the request);
 * - per producer, the requests present are exactly seqs 0..m with no gap.
 * Returns violations and, per source, how many requests are present.
 */
export function checkStream(
  stream: string,
  messages: unknown[],
  sources: Source[],
): { violations: string[]; presentBySource: Map<string, number> } {
  const violations: string[] = []
  const byId = new Map<string, Located>()
  for (const s of sources) {
    for (const r of s.sent)
      r.messages.forEach((m, index) => {
        byId.set(m.id, { request: r, index })
      })
  }
  const seen = new Set<string>()
  const presentCount = new Map<SentRequest, number>()
  const lastPos = new Map<string, { seq: number; index: number }>()

  messages.forEach((m, pos) => {
    const id = (m as { id?: unknown } | null)?.id
    const located = typeof id === 'string' ? byId.get(id) : undefined
    if (!located) {
      violations.push(`${stream}[${pos}]: message that was never sent: ${JSON.stringify(m).slice(0, 120)}`)
      return
    }
    const { request, index } = located
    if (JSON.stringify(m) !== request.messages[index].text) {
      violations.push(`${stream}[${pos}]: ${id} differs from what was sent`)
    }
    if (seen.has(id as string)) {
      violations.push(`${stream}[${pos}]: ${id} appears more than once`)
      return
    }
    seen.add(id as string)
    presentCount.set(request, (presentCount.get(request) ?? 0) + 1)
    const prev = lastPos.get(request.source)
    if (prev && (request.seq < prev.seq || (request.seq === prev.seq && index < prev.index))) {
      violations.push(`${stream}[${pos}]: ${id} out of order (after ${request.source}/${prev.seq}/${prev.index})`)
    }
    lastPos.set(request.source, { seq: request.seq, index })
  })

  const presentBySource = new Map<string, number>()
  for (const s of sources) {
    let present = 0
    let gapAt = -1
    for (const r of s.sent) {
      const n = presentCount.get(r) ?? 0
      if (r.acked && n === 0) violations.push(`${stream}: acknowledged ${r.source}/${r.seq} is missing`)
      if (n !== 0 && n !== r.messages.length) {
        violations.push(`${stream}: ${r.source}/${r.seq} is torn: ${n} of ${r.messages.length} messages present`)
      }
      if (n > 0) {
        present++
        if (s.kind === 'producer' && gapAt >= 0) {
          violations.push(`${stream}: ${r.source}/${r.seq} present after missing seq ${gapAt}`)
        }
      } else if (gapAt < 0) gapAt = r.seq
    }
    presentBySource.set(s.id, present)
  }
  return { violations, presentBySource }
}
