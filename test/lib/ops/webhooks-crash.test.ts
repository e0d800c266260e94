/**
 * Bar 2 across a crash: the production server records `session.created` durably, the receiver
 * refuses it (500), the server is SIGKILLed before any delivery succeeds, and after the restart
 * the same event (same id) arrives and is accepted once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, secretFromString } from '../../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../../support/production-server'
import { startReceiver, validSignature, type Receiver } from './webhook-receiver'

const SECRET = 'webhooks-crash-test-secret-0123456789abcdef'
let server: ProductionServer
let receiver: Receiver
let admin: string

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0', TETHER_ALLOW_LOOPBACK_WEBHOOKS: '1' })
  receiver = await startReceiver()
  admin = await issueToken(secretFromString(SECRET), { role: 'admin', subject: 'ops' })
}, 120_000)
afterAll(async () => {
  await server?.dispose()
  await receiver?.close()
})

const call = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}${path}`, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } })

describe('lifecycle webhooks across a SIGKILL', () => {
  it('delivers an event recorded before the crash after the restart, with the same id, once', async () => {
    const hook = await call('/api/webhooks', { method: 'POST', body: JSON.stringify({ url: receiver.url, events: ['session.created'] }) })
    expect(hook.status).toBe(201)
    receiver.answer = () => 500
    const created = await call('/api/sessions', { method: 'POST', body: JSON.stringify({ pattern: 'long-running' }) })
    expect(created.status).toBe(201)
    const sid = ((await created.json()) as { session: { id: string } }).session.id
    await receiver.until(() => receiver.received.length >= 1)
    const eventId = receiver.received[0].id
    await server.stop('SIGKILL')
    expect(receiver.delivered().size).toBe(0)

    receiver.answer = () => 200
    await server.restart()
    await receiver.until(() => receiver.delivered().size === 1)
    const accepted = receiver.delivered().get(eventId) ?? []
    expect(accepted).toHaveLength(1)
    expect(accepted[0].event).toMatchObject({ id: eventId, type: 'session.created', sessionId: sid })
    const jwks = (await (await fetch(`${server.url}/api/webhooks/jwks.json`)).json()) as { keys: Array<{ kid: string }> }
    expect(validSignature(accepted[0], jwks)).toBe(true)
    // Every attempt, before and after the crash, carried the same id.
    expect(new Set(receiver.received.map((r) => r.id))).toEqual(new Set([eventId]))
  }, 120_000)
})
