/**
 * A page's connection opened from the server's view (session-db.ts): the view's rows are in the
 * collections (the page can show them) before the live read has answered at all, the live read
 * starts at the view's offset, and what is written afterwards still arrives. Real app over HTTP on
 * loopback; the only stand-in is a gate in front of fetch that holds the stream reads back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { openSessionConnection } from '../../../../src/lib/sessions/client/session-db'
import { createSession, startHarness, write, type Harness } from '../harness'

let h: Harness
let sid: string
const realFetch = globalThis.fetch

const question = (i: number) => ({
  channel: 'chunk',
  data: { messageId: `m${i}`, role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: `q${i}`, done: true },
})

beforeAll(async () => {
  h = await startHarness('builtin')
  sid = await createSession(h)
  for (let i = 0; i < 5; i++) await write(h, sid, question(i))
}, 60_000)
afterAll(async () => h?.close())
afterEach(() => {
  globalThis.fetch = realFetch
})

/** Holds every read of the session stream until `open()`; records their URLs. */
function gateStreamReads(): { open(): void; reads: string[] } {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  const reads: string[] = []
  globalThis.fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input)
    if (url.includes('/api/streams/sessions/')) {
      reads.push(url)
      await gate
    }
    return realFetch(input, init)
  }
  return { open: release, reads }
}

const until = async (what: string, check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25))
  if (!check()) throw new Error(`never: ${what}`)
}

describe('a connection opened from the view', () => {
  it('commits the view before the live read answers, reads live from its offset, and keeps receiving', async () => {
    const gate = gateStreamReads()
    const c = await openSessionConnection({ sessionId: sid, token: h.adminToken, origin: h.url, cache: false })
    // Resolves although every stream read is still held: the view alone is committed.
    await c.ready
    expect([...c.db.collections.chunks.keys()].sort()).toEqual(['m0:0', 'm1:0', 'm2:0', 'm3:0', 'm4:0'])
    // ...and the page does not claim to have reached the tail yet.
    expect(c.status.getSnapshot().caughtUp).toBe(false)
    await until('the live read was asked', () => gate.reads.length > 0)
    const live = new URL(gate.reads[0])
    expect(live.searchParams.get('offset')).toBe(c.resumedFrom)
    expect(live.searchParams.get('live')).toBe('sse')

    gate.open()
    await until('caught up', () => c.status.getSnapshot().caughtUp)
    await write(h, sid, question(5))
    await until('the new message', () => c.db.collections.chunks.has('m5:0'))
    expect(c.db.collections.chunks.size).toBe(6)
    c.close()
  }, 30_000)
})
