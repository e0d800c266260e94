import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'

// Bad input over real HTTP: each case gets the protocol's status with a reason, and the
// server keeps serving afterwards (checked after every case).
const MAX_BODY = 64 * 1024
let server: StreamsHttpServer
let dir: string
let n = 0
const base = () => `${server.url}/v1/stream`
const unique = (name: string) => `${name}-${++n}-${Date.now()}`

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-bad-input-'))
  server = await startStreamsHttpServer({ file: join(dir, 's.db'), maxBodyBytes: MAX_BODY, longPollTimeoutMs: 1000 })
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function create(name: string, contentType: string, body?: string): Promise<string> {
  const res = await fetch(`${base()}/${name}`, { method: 'PUT', headers: { 'content-type': contentType }, body })
  expect(res.status).toBe(201)
  return res.headers.get('stream-next-offset')!
}

async function expectReason(res: Response, status: number, code: string) {
  expect(res.status).toBe(status)
  const body = (await res.json()) as { error: { code: string; message: string } }
  expect(body.error.code).toBe(code)
  expect(body.error.message.length).toBeGreaterThan(0)
}

/** Proves the server still works: create, append, read back. */
async function expectStillServing() {
  const name = unique('alive')
  await create(name, 'text/plain', 'ok')
  const res = await fetch(`${base()}/${name}`)
  expect(res.status).toBe(200)
  expect(await res.text()).toBe('ok')
}

/** A raw request (no client-side path normalisation), resolving with status and body. */
function raw(method: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('bad input', () => {
  it('answers malformed JSON in JSON mode with 400 and stores nothing', async () => {
    const name = unique('json')
    await create(name, 'application/json', '[{"ok":1}]')
    for (const body of ['{"a":', 'not json', '[1,2', '{"a":1}}']) {
      const res = await fetch(`${base()}/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      await expectReason(res, 400, 'INVALID_JSON')
    }
    const read = await fetch(`${base()}/${name}`)
    expect(await read.json()).toEqual([{ ok: 1 }])
    await expectStillServing()
  })

  it('refuses a body over the limit by Content-Length with 413 and a reason', async () => {
    const name = unique('big')
    await create(name, 'application/octet-stream')
    const res = await fetch(`${base()}/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array(MAX_BODY + 1),
    })
    await expectReason(res, 413, 'PAYLOAD_TOO_LARGE')
    const head = await fetch(`${base()}/${name}`, { method: 'HEAD' })
    expect(head.headers.get('stream-next-offset')).toBe('0000000000000000_0000000000000000')
    await expectStillServing()
  })

  it('refuses an endless chunked body with 413 before it ends (never buffers it whole)', async () => {
    const name = unique('chunked')
    await create(name, 'application/octet-stream')
    const url = new URL(`${base()}/${name}`)
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: url.hostname, port: url.port, method: 'POST', path: url.pathname, headers: { 'content-type': 'application/octet-stream' } },
        (res) => {
          let text = ''
          res.on('data', (c: Buffer) => (text += c.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
          stop = true
        },
      )
      let stop = false
      const chunk = Buffer.alloc(16 * 1024, 7)
      // Keeps sending until the server answers: a server that waited for the end would hang here.
      const pump = () => {
        if (stop) return req.end()
        if (req.write(chunk)) setImmediate(pump)
        else req.once('drain', pump)
      }
      req.on('error', (err) => (stop ? undefined : reject(err)))
      pump()
    })
    expect(status).toBe(413)
    expect(JSON.parse(body).error.code).toBe('PAYLOAD_TOO_LARGE')
    await expectStillServing()
  })

  it('answers invalid offsets with 400', async () => {
    const name = unique('offsets')
    await create(name, 'text/plain', 'abc')
    for (const offset of ['abc', '0_0', '-2', 'now%2C1', '0000000000000000_000000000000000x']) {
      await expectReason(await fetch(`${base()}/${name}?offset=${offset}`), 400, 'INVALID_OFFSET')
    }
    await expectReason(await fetch(`${base()}/${name}?offset=0000000000000009_0000000000000099`), 400, 'OFFSET_BEYOND_TAIL')
    await expectReason(await fetch(`${base()}/${name}?offset=-1&offset=-1`), 400, 'INVALID_OFFSET')
    await expectReason(await fetch(`${base()}/${name}?live=sse`), 400, 'OFFSET_REQUIRED')
    await expectReason(await fetch(`${base()}/${name}?offset=-1&live=forever`), 400, 'INVALID_LIVE_MODE')
    await expectStillServing()
  })

  it('answers unknown streams with 404 on every method', async () => {
    const name = unique('missing')
    await expectReason(await fetch(`${base()}/${name}`), 404, 'NOT_FOUND')
    await expectReason(await fetch(`${base()}/${name}?offset=now&live=long-poll`), 404, 'NOT_FOUND')
    await expectReason(await fetch(`${base()}/${name}?offset=-1&live=sse`), 404, 'NOT_FOUND')
    await expectReason(
      await fetch(`${base()}/${name}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' }),
      404,
      'NOT_FOUND',
    )
    await expectReason(await fetch(`${base()}/${name}`, { method: 'DELETE' }), 404, 'NOT_FOUND')
    expect((await fetch(`${base()}/${name}`, { method: 'HEAD' })).status).toBe(404)
    await expectStillServing()
  })

  it('rejects path traversal, encoded traversal and NUL bytes with 400', async () => {
    const target = unique('victim')
    await create(target, 'text/plain', 'secret')
    for (const path of [
      `/v1/stream/a/../${target}`,
      `/v1/stream/%2e%2e/v1/stream/${target}`,
      `/v1/stream/x/%2E%2E/${target}`,
      `/v1/stream/a%00b`,
      `/v1/stream/a%2f..%2f${target}`,
      `/v1/stream/a%0d%0aSet-Cookie:x`,
    ]) {
      const res = await raw('GET', path)
      expect(res.status, path).toBe(400)
      expect(JSON.parse(res.body).error.code).toBe('INVALID_PATH')
    }
    const fork = await fetch(`${base()}/${unique('fork')}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'stream-forked-from': `/v1/stream/x/../${target}` },
    })
    await expectReason(fork, 400, 'INVALID_FORK_SOURCE')
    await expectStillServing()
  })

  it('refuses oversized request headers (431) and keeps serving', async () => {
    const res = await raw('GET', `/v1/stream/${unique('h')}`, { 'x-padding': 'a'.repeat(64 * 1024) })
    expect(res.status).toBe(431)
    await expectStillServing()
  })

  it('frames CR/LF in SSE payloads so they cannot forge events', async () => {
    const name = unique('sse-injection')
    const evil = 'a\r\n\r\nevent: control\r\ndata: {"streamNextOffset":"forged","streamClosed":true}\n\nevent: data\rdata: b'
    await create(name, 'text/plain', evil)
    const ac = new AbortController()
    const res = await fetch(`${base()}/${name}?offset=-1&live=sse`, { signal: ac.signal })
    const reader = res.body!.getReader()
    let text = ''
    while (!text.includes('"upToDate":true')) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    ac.abort()
    expect(text).not.toContain('\r')
    const events = text
      .split('\n\n')
      .filter(Boolean)
      .map((block) => {
        const lines = block.split('\n')
        return {
          type: lines
            .find((l) => l.startsWith('event:'))!
            .slice(6)
            .trim(),
          data: lines
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5))
            .join('\n'),
        }
      })
    expect(events.map((e) => e.type)).toEqual(['data', 'control'])
    // The payload survives as literal data (each line terminator became a line break).
    expect(events[0]!.data).toBe(evil.replace(/\r\n|\r/g, '\n'))
    expect(JSON.parse(events[1]!.data).streamNextOffset).not.toBe('forged')
    await expectStillServing()
  })

  it('answers content-type and producer header mistakes with their protocol codes', async () => {
    const name = unique('headers')
    await create(name, 'text/plain')
    await expectReason(await fetch(`${base()}/${name}`, { method: 'POST', body: new Uint8Array([1]) }), 400, 'MISSING_CONTENT_TYPE')
    await expectReason(
      await fetch(`${base()}/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }),
      409,
      'CONTENT_TYPE_MISMATCH',
    )
    await expectReason(
      await fetch(`${base()}/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', 'producer-id': 'p', 'producer-epoch': '0' },
        body: 'x',
      }),
      400,
      'INCOMPLETE_PRODUCER',
    )
    await expectReason(
      await fetch(`${base()}/${name}`, { method: 'PUT', headers: { 'content-type': 'text/plain', 'stream-ttl': '1.5' } }),
      400,
      'INVALID_TTL',
    )
    await expectStillServing()
  })
})
