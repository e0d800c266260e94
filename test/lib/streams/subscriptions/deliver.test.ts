/** The built-in webhook client against a real loopback receiver and the system resolver. */
import type { LookupAddress } from 'node:dns'
import { afterEach, describe, expect, test } from 'vitest'
import { guardedLookup, nodeWebhookPoster } from '../../../../src/lib/streams/subscriptions/deliver'
import { startReceiver } from './receiver'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

const post = (url: string) => ({
  url,
  body: '{"x":1}',
  headers: { 'content-type': 'application/json' },
  signal: new AbortController().signal,
})

function resolve(host: string, allowLoopback: boolean): Promise<LookupAddress[]> {
  return new Promise((ok, fail) =>
    guardedLookup(allowLoopback)(host, { all: true }, (err, addresses) => (err ? fail(err) : ok(addresses as unknown as LookupAddress[]))),
  )
}

describe('nodeWebhookPoster', () => {
  test('posts the body and returns status and answer', async () => {
    const receiver = await startReceiver(() => ({ status: 200, body: { done: true } }))
    cleanups.push(receiver.close)
    const res = await nodeWebhookPoster({ allowLoopback: true })(post(receiver.url.replace('127.0.0.1', 'localhost')))
    expect(res).toEqual({ status: 200, body: '{"done":true}' })
    expect(receiver.received[0].rawBody).toBe('{"x":1}')
  })

  test('does not follow redirects', async () => {
    const receiver = await startReceiver(() => ({ status: 302 }))
    cleanups.push(receiver.close)
    const res = await nodeWebhookPoster({ allowLoopback: true })(post(receiver.url))
    expect(res.status).toBe(302)
  })

  test('refuses loopback targets unless allowed, before connecting', async () => {
    const receiver = await startReceiver()
    cleanups.push(receiver.close)
    await expect(nodeWebhookPoster({ allowLoopback: false })(post(receiver.url))).rejects.toThrow(/loopback/)
    expect(receiver.received).toHaveLength(0)
  })
})

describe('guardedLookup', () => {
  test('rejects names that resolve to blocked addresses', async () => {
    await expect(resolve('localhost', false)).rejects.toThrow(/blocked address/)
    const allowed = await resolve('localhost', true)
    expect(allowed.length).toBeGreaterThan(0)
  })
})
