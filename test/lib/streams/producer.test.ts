import { afterEach, describe, expect, it } from 'vitest'
import { createStreamsServer, type StreamsServer } from '../../../src/lib/streams'

let server: StreamsServer | undefined
afterEach(() => server?.close())
const req = (path: string, init?: RequestInit) => new Request(`http://local/s/${path}`, init)
const send = (s: StreamsServer, seq: number, body: string) =>
  s.handle(
    req('p', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'producer-id': 'w1', 'producer-epoch': '0', 'producer-seq': String(seq) },
      body,
    }),
  )

describe('idempotent producer ordering', () => {
  it('holds a batch that arrives ahead of its predecessor and applies both in sequence order', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    await s.handle(req('p', { method: 'PUT', headers: { 'content-type': 'application/json' } }))
    const second = send(s, 1, '[{"n":1}]')
    await new Promise((r) => setTimeout(r, 30))
    const first = send(s, 0, '[{"n":0}]')
    const [a, b] = await Promise.all([first, second])
    expect([a.status, b.status]).toEqual([200, 200])
    expect(await (await s.handle(req('p'))).json()).toEqual([{ n: 0 }, { n: 1 }])
  })

  it('still answers a real gap with 409 and the expected sequence', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    await s.handle(req('p', { method: 'PUT', headers: { 'content-type': 'application/json' } }))
    expect((await send(s, 0, '[1]')).status).toBe(200)
    const gap = await send(s, 3, '[4]')
    expect(gap.status).toBe(409)
    expect(gap.headers.get('producer-expected-seq')).toBe('1')
    expect(gap.headers.get('producer-received-seq')).toBe('3')
  })

  it('deduplicates a retried batch and keeps one copy', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    await s.handle(req('p', { method: 'PUT', headers: { 'content-type': 'application/json' } }))
    expect((await send(s, 0, '[{"n":0}]')).status).toBe(200)
    const retry = await send(s, 0, '[{"n":0}]')
    expect(retry.status).toBe(204)
    expect(retry.headers.get('producer-seq')).toBe('0')
    expect(await (await s.handle(req('p'))).json()).toEqual([{ n: 0 }])
  })
})
