import { describe, expect, it, afterEach } from 'vitest'
import { createStreamsServer, type StreamsServer } from '../../../src/lib/streams'

// The store through the framework-free handler (no HTTP): real SQLite in memory.
let server: StreamsServer | undefined
afterEach(() => server?.close())

function make(opts: Partial<Parameters<typeof createStreamsServer>[0]> = {}) {
  server = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0, ...opts })
  return server
}
const req = (path: string, init?: RequestInit) => new Request(`http://local/s/${path}`, init)
const put = (s: StreamsServer, path: string, headers: Record<string, string>, body?: BodyInit) =>
  s.handle(req(path, { method: 'PUT', headers, body }))
const post = (s: StreamsServer, path: string, type: string, body: BodyInit) =>
  s.handle(req(path, { method: 'POST', headers: { 'content-type': type }, body }))

describe('stream store', () => {
  it('reads thousands of appends back in order, across fork segments', async () => {
    const s = make()
    await put(s, 'src', { 'content-type': 'application/json' })
    for (let i = 0; i < 3000; i++) await post(s, 'src', 'application/json', JSON.stringify({ i }))
    const fork = await put(s, 'fork', { 'stream-forked-from': '/s/src' })
    expect(fork.status).toBe(201)
    for (let i = 3000; i < 3100; i++) await post(s, 'fork', 'application/json', JSON.stringify({ i }))
    const body = (await (await s.handle(req('fork'))).json()) as Array<{ i: number }>
    expect(body.map((m) => m.i)).toEqual(Array.from({ length: 3100 }, (_, i) => i))
  })

  it('streams a long read in bounded chunks instead of one buffer', async () => {
    const s = make()
    await put(s, 'big', { 'content-type': 'application/octet-stream' })
    const chunk = new Uint8Array(256 * 1024).fill(7)
    for (let i = 0; i < 16; i++) await post(s, 'big', 'application/octet-stream', chunk)
    const res = await s.handle(req('big'))
    const reader = res.body!.getReader()
    const sizes: number[] = []
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      sizes.push(value.byteLength)
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(16 * chunk.length)
    expect(sizes.length).toBeGreaterThan(1)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2 * 1024 * 1024)
  })

  it('caps a response at maxReadBytes and continues from Stream-Next-Offset', async () => {
    const s = make({ maxReadBytes: 1000 })
    await put(s, 'paged', { 'content-type': 'text/plain' })
    for (let i = 0; i < 10; i++) await post(s, 'paged', 'text/plain', `${i}`.padEnd(300, '.'))
    let offset = '-1'
    let text = ''
    let responses = 0
    for (;;) {
      const res = await s.handle(req(`paged?offset=${offset}`))
      text += await res.text()
      responses++
      if (res.headers.get('stream-up-to-date') === 'true') break
      offset = res.headers.get('stream-next-offset')!
    }
    expect(text).toHaveLength(3000)
    expect(responses).toBeGreaterThanOrEqual(3)
  })

  it('keeps a deleted source readable through its fork and collects it when the fork goes', async () => {
    const s = make()
    await put(s, 'a', { 'content-type': 'text/plain' }, 'hello ')
    await put(s, 'b', { 'content-type': 'text/plain', 'stream-forked-from': '/s/a' })
    await post(s, 'b', 'text/plain', 'world')
    expect((await s.handle(req('a', { method: 'DELETE' }))).status).toBe(204)
    expect((await s.handle(req('a'))).status).toBe(410)
    expect(await (await s.handle(req('b'))).text()).toBe('hello world')
    expect((await s.handle(req('b', { method: 'DELETE' }))).status).toBe(204)
    expect((await s.handle(req('a'))).status).toBe(404)
    const left = s.sqlite.prepare('SELECT COUNT(*) FROM messages').pluck().get()
    expect(left).toBe(0)
  })

  it('survives a reopen: tails, closure and producer state come back from the file', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'tether-store-'))
    const file = join(dir, 's.db')
    try {
      let s = make({ file })
      await put(s, 'p', { 'content-type': 'text/plain' })
      const headers = { 'content-type': 'text/plain', 'producer-id': 'w', 'producer-epoch': '0' }
      await s.handle(req('p', { method: 'POST', headers: { ...headers, 'producer-seq': '0' }, body: 'a' }))
      await s.handle(req('p', { method: 'POST', headers: { ...headers, 'producer-seq': '1' }, body: 'b' }))
      const tail = (await s.handle(req('p', { method: 'HEAD' }))).headers.get('stream-next-offset')
      s.close()
      s = make({ file })
      const head = await s.handle(req('p', { method: 'HEAD' }))
      expect(head.headers.get('stream-next-offset')).toBe(tail)
      const dup = await s.handle(req('p', { method: 'POST', headers: { ...headers, 'producer-seq': '1' }, body: 'b' }))
      expect(dup.status).toBe(204)
      await s.handle(req('p', { method: 'POST', headers: { 'stream-closed': 'true' } }))
      s.close()
      s = make({ file })
      expect(await (await s.handle(req('p'))).text()).toBe('ab')
      expect((await s.handle(req('p', { method: 'HEAD' }))).headers.get('stream-closed')).toBe('true')
    } finally {
      server?.close()
      server = undefined
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('reports creations, appends, closes and deletions to lifecycle listeners after commit', async () => {
    const s = make()
    const events: string[] = []
    s.addListener({
      onCreated: (p, start) => events.push(`created ${p} ${start}`),
      onAppended: (p, tail) => events.push(`appended ${p} ${tail}`),
      onClosed: (p) => events.push(`closed ${p}`),
      onDeleted: (p) => events.push(`deleted ${p}`),
    })
    await put(s, 'x/y', { 'content-type': 'text/plain' })
    await post(s, 'x/y', 'text/plain', 'abc')
    await s.handle(req('x/y', { method: 'POST', headers: { 'stream-closed': 'true' } }))
    await s.handle(req('x/y', { method: 'DELETE' }))
    expect(events).toEqual([
      'created x/y 0000000000000000_0000000000000000',
      'appended x/y 0000000000000001_0000000000000003',
      'closed x/y',
      'deleted x/y',
    ])
  })

  it('exposes streams to other modules through StreamAccess', async () => {
    const s = make()
    await put(s, 'acc', { 'content-type': 'application/json' })
    const { tailOffset } = await s.access.append('acc', new TextEncoder().encode('[{"a":1},{"b":2}]'), 'application/json')
    expect(s.access.describe('acc')).toEqual({ tailOffset, closed: false, contentType: 'application/json' })
    expect(s.access.describe('nope')).toBeNull()
    expect(s.access.listPaths()).toContain('acc')
    expect(await (await s.handle(req('acc'))).json()).toEqual([{ a: 1 }, { b: 2 }])
  })
})
