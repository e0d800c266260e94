import { describe, expect, it } from 'vitest'
import type { Chunk } from '../../../../src/lib/sessions/channel-schemas'
import { deriveMessages, type RowMeta } from '../../../../src/lib/sessions/client/derive'

let order = 0
const chunk = (messageId: string, seq: number, delta: string, extra: Partial<Chunk & RowMeta> = {}): Chunk & RowMeta => ({
  id: `${messageId}:${seq}`,
  messageId,
  role: 'assistant',
  author: 'agent',
  turn: 1,
  seq,
  delta,
  done: false,
  timestamp: 1000 + seq,
  _seq: order++,
  ...extra,
})
const folded = (messageId: string, lastSeq: number, text: string, count: number) =>
  chunk(messageId, lastSeq, text, { id: `${messageId}:folded`, done: true, folded: count })

describe('deriveMessages with a folded (compacted) message', () => {
  it('shows the folded chunk text alone when the reader holds only chunk 0 and the fold (a reader from the start)', () => {
    const [m] = deriveMessages([chunk('m', 0, 'Hel'), folded('m', 3, 'Hello world', 4)])
    expect(m).toMatchObject({ id: 'm', text: 'Hello world', done: true, gap: false })
  })

  it('ignores the chunks a reader kept from before compaction instead of appending them', () => {
    const [m] = deriveMessages([chunk('m', 0, 'Hel'), chunk('m', 1, 'lo '), folded('m', 3, 'Hello world', 4)])
    expect(m.text).toBe('Hello world')
    expect(m.gap).toBe(false)
  })

  it('keeps the message where its first chunk was, not where the fold sits', () => {
    const first = chunk('a', 0, 'long ')
    const user = chunk('u', 0, 'interrupting', { role: 'user', author: 'ann', done: true })
    const fold = folded('a', 2, 'long answer', 3)
    expect(deriveMessages([first, user, fold]).map((m) => m.id)).toEqual(['a', 'u'])
  })

  it('keeps the first chunk author: a folded chunk under another author is not part of the message', () => {
    const [m] = deriveMessages([chunk('m', 0, 'mine', { done: true }), { ...folded('m', 1, 'forged', 2), author: 'mallory' }])
    expect(m.text).toBe('mine')
  })
})
