/**
 * Request rate limits (issue #11, bar 4) through the whole app with sign-in on (a real OpenID
 * provider, a real SQLite file): a burst past the limit gets 429 with Retry-After and a reason,
 * per person (cookie and personal keys share a budget) or per token; workers have their own
 * budget; admins are not limited; reads never are. Then the clients that honour Retry-After, over
 * real HTTP on loopback: the browser data layer's writer and the worker's publisher each send a
 * burst past the limit and every event lands exactly once.
 */
import { serve } from 'srvx/node'
import { afterEach, describe, expect, it } from 'vitest'
import { writeEvents } from '../../../src/lib/sessions/client/event-writer-client'
import { Publisher } from '../../../src/worker/publisher'
import { body, signIn } from '../accounts/support'
import { startWithLimits, userIdOf, withToken, type QuotaHarness } from '../accounts/quotas-support'

type Refusal = { ok: false; error: string; reason: string; retryAfterSeconds: number }

let h: QuotaHarness | undefined
let closeServer: (() => Promise<void>) | undefined
afterEach(async () => {
  await closeServer?.()
  closeServer = undefined
  await h?.close()
  h = undefined
})

const chunk = (author: string, messageId: string, delta = 'x') => ({ channel: 'chunk', data: { messageId, role: 'user', author, turn: 0, seq: 0, delta } })

/** Serves the app on a loopback port (real HTTP) and returns its origin. */
async function onLoopback(app: QuotaHarness['app']): Promise<string> {
  const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
  await server.ready()
  const address = server.node?.server?.address()
  if (!address || typeof address !== 'object') throw new Error('no address')
  closeServer = () => server.close(true)
  return `http://127.0.0.1:${address.port}`
}

/** The session's events (catch-up read as admin). */
async function eventsOf(h: QuotaHarness, id: string): Promise<{ type: string; key: string; value: Record<string, unknown> }[]> {
  const res = await withToken(h, h.adminToken, `/api/streams/sessions/${id}?offset=-1`)
  expect(res.status).toBe(200)
  return (await res.json()) as { type: string; key: string; value: Record<string, unknown> }[]
}

describe('request rate limits', () => {
  it('bar 4: a burst of writes past the limit gets 429 with Retry-After and a reason, on the writer and the raw protocol alike; reads and admins are not limited', async () => {
    h = await startWithLimits({ rates: { windowSeconds: 60, writes: 5 } })
    const alice = await signIn(h, 'alice')
    const aliceId = await userIdOf(alice)
    const id = (await body<{ session: { id: string } }>(await alice.request('/api/sessions', { json: {} }))).session.id
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await alice.request(`/api/streams?sessionId=${id}`, { json: chunk(aliceId, `m${i}`) })).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200])
    const over = await alice.request(`/api/streams?sessionId=${id}`, { json: chunk(aliceId, 'm5') })
    expect(over.status).toBe(429)
    const retryAfter = Number(over.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    const r = await body<Refusal>(over)
    expect(r.reason).toBe('rate-limit:writes')
    expect(r.retryAfterSeconds).toBe(retryAfter)
    expect(r.error).toBe(`too many requests: at most 5 writes per 60 s; retry in ${retryAfter} s`)
    // The raw protocol is the same budget (a person cannot double it by switching paths).
    const raw = await alice.request(`/api/streams/sessions/${id}`, { method: 'POST', json: [{ type: 'chunk', key: 'r', value: {}, headers: { operation: 'insert' } }] })
    expect(raw.status).toBe(429)
    expect((await body<Refusal>(raw)).reason).toBe('rate-limit:writes')
    // A personal key is the same person, the same budget.
    const key = (await body<{ key: string }>(await alice.request('/api/keys', { json: { name: 'script' } }))).key
    expect((await withToken(h, key, `/api/streams?sessionId=${id}`, { json: chunk(aliceId, 'k1') })).status).toBe(429)
    // Reads are not limited; nothing refused was written.
    expect((await alice.request(`/api/streams/sessions/${id}?offset=-1`)).status).toBe(200)
    const written = (await eventsOf(h, id)).filter((e) => e.type === 'chunk').map((e) => e.value.messageId)
    expect(written).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
    // Someone else has their own budget, and an admin token none.
    const bob = await signIn(h, 'bob')
    const bobsId = (await body<{ session: { id: string } }>(await bob.request('/api/sessions', { json: {} }))).session.id
    expect((await bob.request(`/api/streams?sessionId=${bobsId}`, { json: chunk(await userIdOf(bob), 'b0') })).status).toBe(200)
    for (let i = 0; i < 8; i++) expect((await withToken(h, h.adminToken, `/api/streams?sessionId=${id}`, { json: chunk('admin', `a${i}`) })).status).toBe(200)
  })

  it('tokens are counted per role, session and subject; a worker has its own budget', async () => {
    h = await startWithLimits({ rates: { windowSeconds: 60, writes: 2, workers: 4 } })
    const id = (await body<{ session: { id: string } }>(await withToken(h, h.adminToken, '/api/sessions', { json: {} }))).session.id
    const carol = await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'carol' })
    const dave = await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'dave' })
    const worker = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'agent' })
    const send = (token: string, author: string, role: string, n: number) =>
      withToken(h as QuotaHarness, token, `/api/streams?sessionId=${id}`, { json: { channel: 'chunk', data: { messageId: `${author}-${n}`, role, author, turn: 0, seq: 0, delta: 'x' } } })
    expect([(await send(carol, 'carol', 'user', 0)).status, (await send(carol, 'carol', 'user', 1)).status, (await send(carol, 'carol', 'user', 2)).status]).toEqual([200, 200, 429])
    expect((await send(dave, 'dave', 'user', 0)).status).toBe(200)
    const workerStatuses: number[] = []
    for (let i = 0; i < 5; i++) workerStatuses.push((await send(worker, 'agent', 'assistant', i)).status)
    expect(workerStatuses).toEqual([200, 200, 200, 200, 429])
  })

  it('the sessions API has its own budget; model calls are not counted in it', async () => {
    h = await startWithLimits({ rates: { windowSeconds: 60, sessions: 3 } })
    const alice = await signIn(h, 'alice')
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await alice.request('/api/sessions')).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    const over = await alice.request('/api/sessions', { json: {} })
    expect(over.status).toBe(429)
    expect(over.headers.get('retry-after')).toMatch(/^\d+$/)
    expect((await body<Refusal>(over)).reason).toBe('rate-limit:sessions')
    // Writes are another class: still open.
    const id = (await body<{ session: { id: string } }>(await withToken(h, h.adminToken, '/api/sessions', { json: { agent: { model: 'echo' } } }))).session.id
    const worker = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'agent' })
    const step = { model: 'echo', system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [], maxTokens: 5 }
    for (let i = 0; i < 5; i++) {
      const res = await withToken(h, worker, `/api/sessions/${id}/model`, { json: step })
      expect(res.status).toBe(200)
      await res.text()
    }
  })

  it('bar 4: the browser data layer honours Retry-After: a burst of 20 writes past a limit of 5 per second all land, each exactly once', async () => {
    h = await startWithLimits({ rates: { windowSeconds: 1, writes: 5 } })
    const origin = await onLoopback(h.app)
    const id = (await body<{ session: { id: string } }>(await withToken(h, h.adminToken, '/api/sessions', { json: {} }))).session.id
    const token = await h.app.issueToken({ role: 'collaborator', sessionId: id, subject: 'carol' })
    const seen: number[] = []
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      seen.push(res.status)
      return res
    }
    const ids = Array.from({ length: 20 }, (_, i) => `burst-${i}`)
    const offsets = await Promise.all(ids.map((m) => writeEvents({ sessionId: id, token, origin }, { ...chunk('carol', m), id: `chunk:${m}` }, counting)))
    expect(offsets).toHaveLength(20)
    // The limit did refuse some of them, and they were sent again after the wait.
    expect(seen.filter((s) => s === 429).length).toBeGreaterThan(0)
    expect(seen.filter((s) => s === 200)).toHaveLength(20)
    const landed = (await eventsOf(h, id)).filter((e) => e.type === 'chunk').map((e) => String(e.value.messageId))
    expect(landed.sort()).toEqual([...ids].sort())
  })

  it('bar 4: the worker publisher honours Retry-After: 12 appends past a budget of 4 per second all land, each exactly once', async () => {
    h = await startWithLimits({ rates: { windowSeconds: 1, workers: 4 } })
    const origin = await onLoopback(h.app)
    const id = (await body<{ session: { id: string } }>(await withToken(h, h.adminToken, '/api/sessions', { json: {} }))).session.id
    const token = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'agent' })
    const statuses: number[] = []
    const counting: typeof fetch = async (input, init) => {
      const res = await fetch(input, init)
      statuses.push(res.status)
      return res
    }
    const fatal: Error[] = []
    const publisher = new Publisher({ streamUrl: `${origin}/api/streams/sessions/${id}`, token, agentId: 'agent', epoch: Date.now(), onFatal: (e) => fatal.push(e), fetch: counting })
    for (let i = 0; i < 12; i++) {
      publisher.publish('chunk', { id: `w${i}:0`, messageId: `w${i}`, role: 'assistant', author: 'agent', turn: 1, seq: 0, delta: `part ${i}`, done: true })
      // One append per event: a burst of requests, not one coalesced batch.
      await publisher.flush()
    }
    await publisher.detach()
    expect(fatal).toEqual([])
    // Refused, and each refusal waited out whole: 12 appends in windows of 4 need at most two
    // (the 100 ms first retry of the plain backoff would have been refused again within the window).
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0)
    expect(statuses.filter((s) => s === 429).length).toBeLessThanOrEqual(2)
    const landed = (await eventsOf(h, id)).filter((e) => e.type === 'chunk').map((e) => String(e.value.messageId))
    expect(landed).toEqual(Array.from({ length: 12 }, (_, i) => `w${i}`))
  })
})
