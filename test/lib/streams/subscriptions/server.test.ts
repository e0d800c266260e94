/**
 * Subscriptions mounted on the real streams server (SQLite file, HTTP on loopback, the
 * built-in SSRF-guarded webhook client): what must survive a restart does.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, test } from 'vitest'
import { createStreamsServer, startStreamsHttpServer, type StreamsHttpServer } from '../../../../src/lib/streams'
import { createSubscriptions } from '../../../../src/lib/streams/subscriptions'
import { waitFor } from './harness'
import { startReceiver, verifySignature } from './receiver'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tether-subs-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'streams.db')
}

/** Starts server + subscriptions on `file`; returns a stoppable handle. */
async function start(file: string): Promise<StreamsHttpServer & { api: (path: string, init?: RequestInit) => Promise<Response> }> {
  const streams = createStreamsServer({ file, basePath: '/v1/stream', longPollTimeoutMs: 2_000, sweepIntervalMs: 0 })
  const subs = createSubscriptions({ access: streams.access, db: streams.sqlite, allowLoopbackWebhooks: true })
  streams.addListener(subs)
  streams.setReserved(subs)
  const server = await startStreamsHttpServer({ streams })
  let stopped = false
  const stop = async () => {
    if (stopped) return
    stopped = true
    await server.close()
  }
  cleanups.push(stop)
  return {
    ...server,
    close: stop,
    api: (path, init) => fetch(`${server.url}/v1/stream/${path}`, init),
  }
}

const json = (method: string, body?: unknown, token?: string): RequestInit => ({
  method,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: body === undefined ? undefined : JSON.stringify(body),
})

describe('subscriptions on the SQLite-backed server', () => {
  test('keys, subscriptions, cursors and an in-flight wake survive a restart', async () => {
    const file = tempDb()
    const receiver = await startReceiver() // answers {} so the wake stays open for a callback
    cleanups.push(receiver.close)

    let server = await start(file)
    const created = await server.api(
      '__ds/subscriptions/s1',
      json('PUT', { type: 'webhook', pattern: 'events/*', webhook: { url: receiver.url }, lease_ttl_ms: 600_000 }),
    )
    expect(created.status).toBe(201)
    const kid = (await created.json()).webhook.signing.kid
    await server.api('events/a', json('PUT', { n: 1 }))
    const wake = await waitFor(() => receiver.received[0], 'webhook')
    const jwks = await (await server.api('__ds/jwks.json')).json()
    expect(verifySignature(wake.signature, wake.rawBody, jwks)).toBe(true)
    const tail = wake.body.streams[0].tail_offset
    await server.close()

    server = await start(file)
    const jwksAfter = await (await server.api('__ds/jwks.json')).json()
    expect(jwksAfter.keys.map((k: { kid: string }) => k.kid)).toContain(kid)
    const cb = await server.api(
      '__ds/subscriptions/s1/callback',
      json(
        'POST',
        { wake_id: wake.body.wake_id, generation: wake.body.generation, acks: [{ stream: 'events/a', offset: tail }], done: true },
        wake.body.callback_token,
      ),
    )
    expect(cb.status).toBe(200)
    expect(await cb.json()).toEqual({ ok: true, next_wake: false })
    await server.close()

    server = await start(file)
    const view = await (await server.api('__ds/subscriptions/s1')).json()
    expect(view.webhook.signing.kid).toBe(kid)
    expect(view.streams).toEqual([{ path: 'events/a', link_type: 'glob', acked_offset: tail }])
    // The restored subscription still wakes on new data.
    await server.api('events/a', json('POST', { n: 2 }))
    const second = await waitFor(() => receiver.received[1], 'webhook after restart')
    expect(second.body.generation).toBe(wake.body.generation + 1)
    expect(second.body.streams[0].acked_offset).toBe(tail)
  })

  test('a webhook retry schedule is persisted and honoured after a restart', async () => {
    const file = tempDb()
    let healthy = false
    const receiver = await startReceiver(() => (healthy ? { status: 200, body: { done: true } } : { status: 503 }))
    cleanups.push(receiver.close)

    let server = await start(file)
    await server.api('__ds/subscriptions/r1', json('PUT', { type: 'webhook', pattern: 'events/*', webhook: { url: receiver.url } }))
    await server.api('events/r', json('PUT', { n: 1 }))
    const failed = await waitFor(async () => {
      const v = await (await server.api('__ds/subscriptions/r1')).json()
      return v.status === 'failed' ? v : undefined
    }, 'failed status')
    await server.close()

    const db = new Database(file, { readonly: true })
    const row = db.prepare('SELECT status, next_attempt_at AS at FROM ds_subscriptions WHERE id = ?').get('r1') as {
      status: string
      at: number
    }
    db.close()
    expect(row).toEqual({ status: 'failed', at: Date.parse(failed.next_attempt_at) })

    healthy = true
    server = await start(file)
    const tail = (await server.api('events/r', { method: 'HEAD' })).headers.get('stream-next-offset')
    await waitFor(async () => {
      const v = await (await server.api('__ds/subscriptions/r1')).json()
      return v.status === 'active' && v.streams[0].acked_offset === tail
    }, 'delivery after restart')
    // The restarted server waited for the persisted schedule rather than retrying at once.
    expect(receiver.received.at(-1)!.at).toBeGreaterThanOrEqual(row.at - 5)
  })

  test('deleting a stream over HTTP drops its glob link', async () => {
    const server = await start(tempDb())
    await server.api('events/gone', json('PUT', { n: 1 }))
    await server.api('wake/p', json('PUT', []))
    await server.api('__ds/subscriptions/p1', json('PUT', { type: 'pull-wake', pattern: 'events/*', wake_stream: 'wake/p' }))
    expect((await (await server.api('__ds/subscriptions/p1')).json()).streams).toHaveLength(1)
    expect((await server.api('events/gone', { method: 'DELETE' })).status).toBe(204)
    expect((await (await server.api('__ds/subscriptions/p1')).json()).streams).toEqual([])
  })
})
