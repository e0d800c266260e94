/**
 * Issue 14: subscriptions shared by two streams nodes on one PostgreSQL database. A
 * subscription made on one node wakes for appends on the other, its callbacks and claims are
 * accepted on either, and wakes stay one at a time (each generation once, in order) while both
 * nodes append. Real HTTP on loopback, a real webhook receiver, a fresh database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startPgNodes, type PgNodes } from './nodes'
import { startReceiver, verifySignature, type Received } from '../subscriptions/receiver'

let cluster: PgNodes
let answer: (r: Received) => { status: number; body?: unknown } = () => ({ status: 200, body: {} })
let receiver: Awaited<ReturnType<typeof startReceiver>>

beforeAll(async () => {
  receiver = await startReceiver((r) => answer(r))
  cluster = await startPgNodes(2, { subscriptions: { allowLoopbackWebhooks: true } })
}, 120_000)

afterAll(async () => {
  await cluster?.close()
  await receiver?.close()
})

const url = (node: number, path: string) => cluster.url(node, path)

async function call(node: number, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const res = await fetch(url(node, path), { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON, asserted field by field
  return { status: res.status, json: (text ? JSON.parse(text) : null) as any, headers: res.headers }
}

async function createStream(node: number, path: string): Promise<void> {
  const res = await fetch(url(node, path), { method: 'PUT', headers: { 'content-type': 'application/json' } })
  expect(res.status).toBe(201)
}

async function append(node: number, path: string, value: unknown): Promise<string> {
  const res = await fetch(url(node, path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) })
  expect(res.status).toBe(204)
  return res.headers.get('stream-next-offset')!
}

async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 15_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const wakesOf = (id: string) => receiver.received.filter((r) => r.body.subscription_id === id)

describe('subscriptions across two PostgreSQL nodes', () => {
  it('a webhook subscription made on node 1 wakes once for an append on node 2, and its callback is accepted on node 2', async () => {
    answer = () => ({ status: 200, body: {} })
    const made = await call(0, 'PUT', '__ds/subscriptions/hooks', { type: 'webhook', pattern: 'events/*', webhook: { url: receiver.url } })
    expect(made.status).toBe(201)
    // Both nodes publish the same signing keys, made once by the first node to start.
    const jwks0 = (await call(0, 'GET', '__ds/jwks.json')).json
    expect((await call(1, 'GET', '__ds/jwks.json')).json).toEqual(jwks0)

    await createStream(1, 'events/a')
    const tail = await append(1, 'events/a', { n: 1 })
    const wake = await waitFor(() => wakesOf('hooks')[0], 'the wake')
    expect(wake.body.generation).toBe(1)
    expect(wake.body.streams).toEqual([expect.objectContaining({ path: 'events/a', tail_offset: tail, has_pending: true })])
    expect(verifySignature(wake.signature, wake.rawBody, jwks0)).toBe(true)

    const ack = { wake_id: wake.body.wake_id, generation: 1, acks: [{ stream: 'events/a', offset: tail }], done: true }
    const done = await call(1, 'POST', '__ds/subscriptions/hooks/callback', ack, wake.body.callback_token)
    expect(done.json).toEqual({ ok: true, next_wake: false })
    // Settled on node 2: node 1 reads the same cursor, and the token is fenced on either node.
    expect((await call(0, 'GET', '__ds/subscriptions/hooks')).json.streams).toEqual([
      { path: 'events/a', link_type: 'glob', acked_offset: tail },
    ])
    expect((await call(0, 'POST', '__ds/subscriptions/hooks/callback', ack, wake.body.callback_token)).json.error.code).toBe('FENCED')
    expect(wakesOf('hooks')).toHaveLength(1)
    expect((await call(1, 'DELETE', '__ds/subscriptions/hooks')).status).toBe(204)
    expect((await call(0, 'GET', '__ds/subscriptions/hooks')).status).toBe(404)
  })

  it('pull-wake: the wake event of an append on node 1 is claimed on node 2, a second claim on node 1 is refused, and node 1 takes the ack', async () => {
    await createStream(0, 'wake/pool')
    await createStream(0, 'jobs/a')
    const made = await call(1, 'PUT', '__ds/subscriptions/pool', { type: 'pull-wake', streams: ['jobs/a'], wake_stream: 'wake/pool' })
    expect(made.status).toBe(201)
    const tail = await append(0, 'jobs/a', { job: 1 })
    const events = await waitFor(async () => {
      const res = await fetch(`${url(1, 'wake/pool')}?offset=-1`)
      const list = (await res.json()) as { type: string; subscription_id: string; generation: number }[]
      return list.length > 0 && list
    }, 'the wake event')
    expect(events).toEqual([expect.objectContaining({ type: 'wake', subscription_id: 'pool', generation: 1 })])

    const claim = await call(1, 'POST', '__ds/subscriptions/pool/claim', { worker: 'w1' })
    expect(claim.status).toBe(200)
    expect(claim.json.streams).toEqual([expect.objectContaining({ path: 'jobs/a', tail_offset: tail })])
    const busy = await call(0, 'POST', '__ds/subscriptions/pool/claim', { worker: 'w2' })
    expect(busy.json.error).toMatchObject({ code: 'ALREADY_CLAIMED', current_holder: 'w1' })
    const done = await call(
      0,
      'POST',
      '__ds/subscriptions/pool/ack',
      { wake_id: claim.json.wake_id, generation: 1, acks: [{ stream: 'jobs/a', offset: tail }], done: true },
      claim.json.token,
    )
    expect(done.json).toEqual({ ok: true, next_wake: false })
  })

  it('with both nodes appending, wakes go out one at a time: each generation once, in order, until the last append is acknowledged', async () => {
    answer = () => ({ status: 200, body: { done: true } })
    await createStream(0, 'busy/a')
    expect((await call(0, 'PUT', '__ds/subscriptions/busy', { type: 'webhook', streams: ['busy/a'], webhook: { url: receiver.url } })).status).toBe(201)
    let last = ''
    const writers = [0, 1].map(async (node) => {
      for (let i = 0; i < 15; i++) last = await append(node, 'busy/a', { node, i })
    })
    await Promise.all(writers)
    const finalTail = (await fetch(url(0, 'busy/a'), { method: 'HEAD' })).headers.get('stream-next-offset')!
    expect(finalTail >= last).toBe(true)
    await waitFor(async () => (await call(1, 'GET', '__ds/subscriptions/busy')).json.streams[0].acked_offset === finalTail, 'the final ack')
    const generations = wakesOf('busy').map((w) => w.body.generation as number)
    expect(generations.length).toBeGreaterThan(0)
    expect(generations).toEqual(generations.map((_, i) => i + 1))
    // Each wake offered more than the one before: no wake repeated an already acknowledged tail.
    const tails = wakesOf('busy').map((w) => w.body.streams[0].tail_offset as string)
    for (let i = 1; i < tails.length; i++) expect(tails[i]! > tails[i - 1]!).toBe(true)
  })
})
