import { describe, expect, it } from 'vitest'
import type { Chunk, ToolCall } from '../../../../src/lib/sessions/channel-schemas'
import { deriveMessages, type RowMeta } from '../../../../src/lib/sessions/client/derive'
import { MessageIndex, type RowChange } from '../../../../src/lib/sessions/client/message-index'

/** mulberry32: a seeded PRNG, so a failing sequence can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type ChunkRow = Chunk & RowMeta
type CallRow = ToolCall & RowMeta

/** A random but plausible session history: streamed chunks, optimistic rows confirmed later, folds, deletes, tool calls. */
function randomHistory(seed: number, steps: number) {
  const rand = prng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]
  const messageIds = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']
  const chunks = new Map<string, ChunkRow>()
  const calls = new Map<string, CallRow>()
  let streamSeq = 0
  const stamp = (): Partial<RowMeta> =>
    rand() < 0.15 ? { _seq: undefined, $hasPendingWrites: true } : { _seq: streamSeq++, $hasPendingWrites: false }
  const batches: Array<{ chunks: RowChange<ChunkRow>[]; calls: RowChange<CallRow>[] }> = []
  for (let step = 0; step < steps; step++) {
    const batch = { chunks: [] as RowChange<ChunkRow>[], calls: [] as RowChange<CallRow>[] }
    const size = 1 + Math.floor(rand() * 6)
    for (let i = 0; i < size; i++) {
      const r = rand()
      const messageId = pick(messageIds)
      if (r < 0.5) {
        // a new or re-sent chunk (sometimes by another author, which the message must ignore)
        const seq = Math.floor(rand() * 8)
        const key = `${messageId}:${seq}`
        const row: ChunkRow = {
          id: key,
          messageId,
          role: rand() < 0.9 ? 'assistant' : 'user',
          author: rand() < 0.9 ? 'agent' : 'mallory',
          turn: 1,
          seq,
          delta: `${messageId}-${seq}-${Math.floor(rand() * 100)} `,
          done: rand() < 0.1,
          timestamp: 1000 + Math.floor(rand() * 50),
          ...stamp(),
        }
        batch.chunks.push({ type: chunks.has(key) ? 'update' : 'insert', key, value: row })
        chunks.set(key, row)
      } else if (r < 0.6) {
        // an optimistic row confirmed by the stream
        const pending = [...chunks.values()].filter((c) => c._seq === undefined)
        if (pending.length === 0) continue
        const row = { ...pick(pending), _seq: streamSeq++, $hasPendingWrites: false }
        batch.chunks.push({ type: 'update', key: row.id, value: row })
        chunks.set(row.id, row)
      } else if (r < 0.7) {
        // compaction folds a message
        const key = `${messageId}:folded`
        const row: ChunkRow = {
          id: key,
          messageId,
          role: 'assistant',
          author: 'agent',
          turn: 1,
          seq: 7,
          delta: `whole ${messageId} text`,
          done: true,
          folded: 8,
          timestamp: 1000,
          _seq: streamSeq++,
        }
        batch.chunks.push({ type: chunks.has(key) ? 'update' : 'insert', key, value: row })
        chunks.set(key, row)
      } else if (r < 0.8) {
        const keys = [...chunks.keys()]
        if (keys.length === 0) continue
        const key = pick(keys)
        batch.chunks.push({ type: 'delete', key, value: chunks.get(key) as ChunkRow })
        chunks.delete(key)
      } else if (r < 0.95) {
        // a tool call upserted as it runs (sometimes moving to another message)
        const key = `call-${Math.floor(rand() * 6)}`
        const row: CallRow = {
          id: key,
          messageId,
          agentId: 'agent',
          name: 'shell',
          input: { command: 'ls' },
          status: pick(['pending', 'running', 'succeeded'] as const),
          timestamp: 1000 + Math.floor(rand() * 50),
          ...stamp(),
        } as CallRow
        batch.calls.push({ type: calls.has(key) ? 'update' : 'insert', key, value: row })
        calls.set(key, row)
      } else {
        const keys = [...calls.keys()]
        if (keys.length === 0) continue
        const key = pick(keys)
        batch.calls.push({ type: 'delete', key, value: calls.get(key) as CallRow })
        calls.delete(key)
      }
    }
    batches.push(batch)
  }
  return batches
}

describe('MessageIndex (incremental derivation)', () => {
  it('equals deriveMessages over all rows after every batch of random inserts, updates, deletes and folds (200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const index = new MessageIndex()
      const chunks = new Map<string, ChunkRow>()
      const calls = new Map<string, CallRow>()
      for (const batch of randomHistory(seed, 60)) {
        index.applyChunks(batch.chunks)
        index.applyToolCalls(batch.calls)
        for (const c of batch.chunks) c.type === 'delete' ? chunks.delete(String(c.key)) : chunks.set(String(c.key), c.value)
        for (const c of batch.calls) c.type === 'delete' ? calls.delete(String(c.key)) : calls.set(String(c.key), c.value)
        const full = deriveMessages([...chunks.values()], [...calls.values()])
        expect(index.messages(), `seed ${seed}`).toEqual(full)
      }
    }
  })

  it('keeps untouched messages (and the list, when nothing changed) as the same objects', () => {
    const index = new MessageIndex()
    const row = (messageId: string, seq: number, s: number): ChunkRow => ({
      id: `${messageId}:${seq}`,
      messageId,
      role: 'assistant',
      author: 'agent',
      turn: 1,
      seq,
      delta: `${seq} `,
      done: false,
      timestamp: 1000,
      _seq: s,
    })
    index.applyChunks([row('a', 0, 0), row('b', 0, 1)].map((value) => ({ type: 'insert' as const, key: value.id, value })))
    const first = index.messages()
    expect(index.messages()).toBe(first)
    index.applyChunks([{ type: 'insert', key: 'b:1', value: row('b', 1, 2) }])
    const second = index.messages()
    expect(second).not.toBe(first)
    expect(second[0]).toBe(first[0])
    expect(second[1].text).toBe('0 1 ')
  })
})
