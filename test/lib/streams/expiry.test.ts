import { afterEach, describe, expect, it } from 'vitest'
import { createStreamsServer, type StreamsServer } from '../../../src/lib/streams'

let server: StreamsServer | undefined
afterEach(() => server?.close())

const req = (path: string, init?: RequestInit) => new Request(`http://local/s/${path}`, init)
const count = (s: StreamsServer, sql: string) => s.sqlite.prepare(sql).pluck().get() as number

describe('expiry sweeper', () => {
  it('deletes expired streams and their messages, leaves live ones alone', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    const past = new Date(Date.now() + 150).toISOString()
    await s.handle(req('old', { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-expires-at': past }, body: 'x' }))
    await s.handle(req('young', { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-ttl': '3600' }, body: 'y' }))
    await new Promise((r) => setTimeout(r, 200))
    // Expired streams answer 404 at once, before any sweep.
    expect((await s.handle(req('old'))).status).toBe(404)
    const result = await s.sweepExpired()
    expect(result.expired).toBe(1)
    expect(count(s, `SELECT COUNT(*) FROM streams WHERE path = 'old'`)).toBe(0)
    expect(count(s, `SELECT COUNT(*) FROM messages`)).toBe(1)
    expect(await (await s.handle(req('young'))).text()).toBe('y')
  })

  it('applies the default retention to streams created without TTL or Expires-At, without reporting it', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0, defaultRetentionMs: 100 }))
    await s.handle(req('plain', { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'x' }))
    const head = await s.handle(req('plain', { method: 'HEAD' }))
    expect(head.headers.get('stream-ttl')).toBeNull()
    expect(head.headers.get('stream-expires-at')).toBeNull()
    await new Promise((r) => setTimeout(r, 150))
    expect((await s.handle(req('plain'))).status).toBe(404)
    expect((await s.sweepExpired()).expired).toBe(1)
  })

  it('purges a large expired stream in bounded batches', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    await s.handle(req('huge', { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-ttl': '1' } }))
    const appends = []
    for (let i = 0; i < 5000; i++) appends.push(s.access.append('huge', new Uint8Array([65]), 'text/plain'))
    await Promise.all(appends)
    await new Promise((r) => setTimeout(r, 1100))
    const result = await s.sweepExpired()
    expect(result.expired).toBe(1)
    expect(result.purgedRows).toBe(5000)
    expect(count(s, `SELECT COUNT(*) FROM messages`)).toBe(0)
    expect(count(s, `SELECT COUNT(*) FROM purges`)).toBe(0)
  })

  it('soft-deletes an expired source that forks still read', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0 }))
    await s.handle(req('src', { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-ttl': '1' }, body: 'base' }))
    await s.handle(req('fork', { method: 'PUT', headers: { 'stream-forked-from': '/s/src', 'stream-ttl': '3600' } }))
    await new Promise((r) => setTimeout(r, 1100))
    await s.sweepExpired()
    expect((await s.handle(req('src'))).status).toBe(410)
    expect(await (await s.handle(req('fork'))).text()).toBe('base')
  })

  it('does not expire a TTL stream while a live reader is attached', async () => {
    const s = (server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0, longPollTimeoutMs: 60_000 }))
    await s.handle(req('watched', { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-ttl': '1' } }))
    const ac = new AbortController()
    const sse = await s.handle(req('watched?offset=now&live=sse', { signal: ac.signal }))
    const reader = sse.body!.getReader()
    await reader.read()
    await new Promise((r) => setTimeout(r, 1200))
    expect((await s.sweepExpired()).expired).toBe(0)
    expect((await s.handle(req('watched', { method: 'HEAD' }))).status).toBe(200)
    await reader.cancel()
  })
})
