/**
 * A connection started while the session page hydrates (preopenSessionConnection) is the one the
 * page's own acquire gets, so the view is not read twice; one nobody takes up is closed after its
 * grace. Real app over HTTP on loopback.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acquireSessionConnection, preopenSessionConnection } from '../../../../src/lib/sessions/client/session-db'
import { createSession, startHarness, write, type Harness } from '../harness'

let h: Harness
let sid: string

beforeAll(async () => {
  h = await startHarness('builtin')
  sid = await createSession(h)
  await write(h, sid, { channel: 'chunk', data: { messageId: 'm0', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'q', done: true } })
}, 60_000)
afterAll(async () => h?.close())

describe('preopening a session connection', () => {
  it('hands the page the connection it started, holding the view', async () => {
    const options = { sessionId: sid, token: h.adminToken, origin: h.url, cache: false }
    const preopened = preopenSessionConnection(options, 10_000)
    const first = acquireSessionConnection(options)
    const again = acquireSessionConnection(options)
    expect(first.connection).toBe(preopened)
    expect(again.connection).toBe(preopened)
    const c = await first.connection
    await c.ready
    expect([...c.db.collections.chunks.keys()]).toEqual(['m0:0'])
    first.release(0)
    again.release(0)
  })

  it('closes a preopened connection nobody acquired once its grace is over', async () => {
    const options = { sessionId: sid, token: h.adminToken, origin: h.url, cache: false, view: false }
    const preopened = preopenSessionConnection(options, 50)
    await (await preopened).ready
    await new Promise((r) => setTimeout(r, 200))
    // A later acquire opens a new connection: the preopened one was closed and dropped.
    const later = acquireSessionConnection(options)
    expect(later.connection).not.toBe(preopened)
    await (await later.connection).ready
    later.release(0)
  })
})
