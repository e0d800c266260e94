/**
 * Lifecycle webhooks (issue #12, bar 2) on a real app (SQLite file in a temp dir) and a real
 * HTTP receiver on loopback: each event arrives once per id with a signature the JWKS verifies;
 * 500 then 200 is retried; a hanging receiver does not hold up the session; admin-only routes.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import { startReceiver, validSignature, type Receiver } from './webhook-receiver'

let app: TetherServer
let admin: string
const receivers: Receiver[] = []

beforeAll(async () => {
  app = createTetherServer({
    dataDir: mkdtempSync(join(tmpdir(), 'tether-webhooks-')),
    logger: pino({ level: 'silent' }),
    sweepIntervalMs: 0,
    allowLoopbackWebhooks: true,
    sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
  })
  admin = await app.issueToken({ role: 'admin' })
})
afterAll(async () => {
  await app.close()
  for (const r of receivers) await r.close()
})

function call(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  headers.set('authorization', `Bearer ${init.token ?? admin}`)
  if (init.body) headers.set('content-type', 'application/json')
  return app.fetch(new Request(`http://app${path}`, { ...init, headers }))
}

async function receiver(events?: string[]): Promise<{ r: Receiver; id: string }> {
  const r = await startReceiver()
  receivers.push(r)
  const res = await call('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: r.url, ...(events ? { events } : {}) }) })
  expect(res.status).toBe(201)
  const { webhook } = (await res.json()) as { webhook: { id: string } }
  return { r, id: webhook.id }
}

type Logged = { eventId: string; attempt: number; status: number; outcome: string }
/** The delivery log once it holds `n` rows (it is written just after the receiver answers). */
async function deliveries(hook: string, n: number): Promise<Logged[]> {
  for (;;) {
    const { deliveries } = (await (await call(`/api/webhooks/${hook}/deliveries`)).json()) as { deliveries: Logged[] }
    if (deliveries.length >= n) return deliveries
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function createSession(pattern = 'hybrid'): Promise<string> {
  const res = await call('/api/sessions', { method: 'POST', body: JSON.stringify({ pattern, title: 't' }) })
  expect(res.status).toBe(201)
  return ((await res.json()) as { session: { id: string } }).session.id
}

describe('lifecycle webhooks', () => {
  it('delivers created, idle, resumed and ended once per id, each signed with a key of the JWKS', async () => {
    const { r } = await receiver()
    const id = await createSession()
    await app.manager.suspend(id, 'limit:idle')
    expect((await call(`/api/sessions/${id}/messages`, { method: 'POST', body: JSON.stringify({ text: 'back' }) })).status).toBe(201)
    expect((await call(`/api/sessions/${id}/terminate`, { method: 'POST', body: '{}' })).status).toBe(200)
    await r.until(() => r.received.some((x) => x.type === 'session.ended'))

    const mine = r.received.filter((x) => x.event.sessionId === id)
    expect(mine.map((x) => x.type)).toEqual(['session.created', 'session.idle', 'session.resumed', 'session.ended'])
    expect(new Set(mine.map((x) => x.id)).size).toBe(4)
    for (const x of mine) expect(x.event.id).toBe(x.id)
    expect(mine[3].event.data).toMatchObject({ reason: 'terminated', status: 'terminated' })

    const jwks = (await (await app.fetch(new Request('http://app/api/webhooks/jwks.json'))).json()) as { keys: Array<{ kid: string }> }
    for (const x of mine) expect(validSignature(x, jwks)).toBe(true)
    // The same key set as the subscriptions' (one signing key for the whole server).
    const dsJwks = (await (await app.fetch(new Request('http://app/api/streams/__ds/jwks.json'))).json()) as { keys: Array<{ kid: string }> }
    expect(dsJwks.keys.map((k) => k.kid)).toEqual(jwks.keys.map((k) => k.kid))
    // A tampered body does not verify.
    expect(validSignature({ ...mine[0], body: mine[0].body.replace('session.created', 'session.ended') }, jwks)).toBe(false)
  })

  it('retries a receiver that answers 500, then 200, and logs both attempts', async () => {
    const { r, id: hook } = await receiver(['session.created'])
    let answered = 0
    r.answer = () => (answered++ === 0 ? 500 : 200)
    const sid = await createSession()
    await r.until(() => r.delivered().size === 1)
    const attempts = r.received.filter((x) => x.event.sessionId === sid)
    expect(attempts.map((x) => x.id)).toEqual([attempts[0].id, attempts[0].id])
    expect((await deliveries(hook, 2)).map((d) => [d.attempt, d.status, d.outcome])).toEqual([
      [2, 200, 'delivered'],
      [1, 500, 'retrying'],
    ])
  })

  it('does not hold up session creation or termination while a receiver hangs', async () => {
    const { r } = await receiver(['session.created', 'session.ended'])
    r.answer = () => 'hang'
    const sid = await createSession('long-running')
    await r.until(() => r.held === 1)
    // The receiver still holds the created event; the session is usable and ends at once.
    expect((await call(`/api/sessions/${sid}/terminate`, { method: 'POST', body: '{}' })).status).toBe(200)
    expect(r.held).toBe(1)
    expect(r.received.filter((x) => x.event.sessionId === sid).map((x) => x.type)).toEqual(['session.created'])
    r.answer = () => 200
    r.release()
  })

  it('replays an event on request, and filters by event type', async () => {
    const { r, id: hook } = await receiver(['session.ended'])
    const sid = await createSession()
    expect((await call(`/api/sessions/${sid}/terminate`, { method: 'POST', body: '{}' })).status).toBe(200)
    await r.until(() => r.delivered().size === 1)
    expect(r.received.every((x) => x.type === 'session.ended')).toBe(true)
    const eventId = r.received[0].id
    await deliveries(hook, 1)
    const res = await call(`/api/webhooks/${hook}/deliveries/${eventId}/replay`, { method: 'POST' })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { delivery: { attempt: number; outcome: string } }).delivery).toMatchObject({ attempt: 2, outcome: 'delivered' })
    expect(r.delivered().get(eventId)).toHaveLength(2)
    expect((await call(`/api/webhooks/${hook}/deliveries/evt_nope/replay`, { method: 'POST' })).status).toBe(404)
  })

  it('refuses bad input with the reason and is admin-only', async () => {
    const bad = await call('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'http://10.0.0.1/x' }) })
    expect(bad.status).toBe(400)
    expect(await bad.text()).toMatch(/https|private/)
    expect((await call('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: 'https://example.com/x', events: ['nope'] }) })).status).toBe(400)
    const sid = await createSession()
    for (const role of ['viewer', 'collaborator', 'worker'] as const) {
      const token = await app.issueToken({ role, sessionId: sid, subject: 'u1' })
      expect((await call('/api/webhooks', { token })).status).toBe(403)
      expect((await call('/api/webhooks', { token, method: 'POST', body: JSON.stringify({ url: 'https://example.com/x' }) })).status).toBe(403)
      expect((await call('/api/streams/__tether/lifecycle?offset=-1', { token })).status).toBe(403)
    }
    expect((await app.fetch(new Request('http://app/api/webhooks'))).status).toBe(401)
    const del = await receiver()
    expect((await call(`/api/webhooks/${del.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await call(`/api/webhooks/${del.id}`)).status).toBe(404)
  })
})
