/**
 * Views derived from channel entries (pure; browser-safe). Messages are never stored: they are
 * the chunks of one messageId, ordered by seq. Use these over a collection's rows (e.g. inside a
 * live query's result) so the UI, workers and tests agree on what a message is.
 */
import type { Chunk } from './channel-schemas'

export interface Message {
  id: string
  role: Chunk['role']
  author: string
  turn: number
  text: string
  /** True once the chunk with done=true has arrived. */
  done: boolean
  /** Chunks received so far (gaps in seq show a message still streaming out of order). */
  chunks: number
  firstAt: number
  lastAt: number
}

/** Groups chunks into messages, in order of each message's first chunk in `chunks`. */
export function messagesFromChunks(chunks: Iterable<Chunk>): Message[] {
  const byId = new Map<string, { first: Chunk; parts: Chunk[] }>()
  for (const c of chunks) {
    const entry = byId.get(c.messageId)
    if (entry) entry.parts.push(c)
    else byId.set(c.messageId, { first: c, parts: [c] })
  }
  const out: Message[] = []
  for (const [id, { first, parts }] of byId) {
    parts.sort((a, b) => a.seq - b.seq)
    out.push({
      id,
      role: first.role,
      author: first.author,
      turn: first.turn,
      text: parts.map((p) => p.delta).join(''),
      done: parts.some((p) => p.done),
      chunks: parts.length,
      firstAt: Math.min(...parts.map((p) => p.timestamp)),
      lastAt: Math.max(...parts.map((p) => p.timestamp)),
    })
  }
  return out
}
