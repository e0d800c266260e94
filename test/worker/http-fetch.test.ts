/**
 * The worker's fetch over node:http (src/worker/http-fetch.ts) against a real HTTP server on
 * loopback and on a unix socket: it answers like fetch where the worker and the Durable Streams
 * client look (status, headers, text/json, a streamed body, aborts, network errors), reuses its
 * connections, and reaches an origin routed to the server socket.
 */
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { httpFetch, routeOriginToSocket } from '../../src/worker/http-fetch'

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void

describe('the worker fetch over node:http', () => {
  let server: Server
  let origin = ''
  let handler: Handler = (_req, _body, res) => res.end()
  const connections = new Set<Socket>()
  let connectionCount = 0

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      let body = ''
      for await (const chunk of req) body += chunk
      handler(req, body, res)
    })
    server.on('connection', (s) => {
      connectionCount++
      connections.add(s)
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => {
    for (const s of connections) s.destroy()
    server.close()
  })

  it('answers status, headers (any case) and a JSON body, and sends the method, headers and body it was given', async () => {
    let seen: { method?: string; auth?: string; type?: string; length?: string; body?: string; url?: string } = {}
    handler = (req, body, res) => {
      seen = { method: req.method, auth: req.headers.authorization, type: req.headers['content-type'], length: req.headers['content-length'], body, url: req.url }
      res.writeHead(201, { 'Stream-Next-Offset': '42', 'content-type': 'application/json' }).end('{"ok":true}')
    }
    const res = await httpFetch(`${origin}/a/b?offset=-1`, {
      method: 'POST',
      headers: { Authorization: 'Bearer t', 'content-type': 'application/json' },
      body: '{"x":1}',
    })
    expect(seen).toEqual({ method: 'POST', auth: 'Bearer t', type: 'application/json', length: '7', body: '{"x":1}', url: '/a/b?offset=-1' })
    expect([res.status, res.ok]).toEqual([201, true])
    expect(res.headers.get('stream-next-offset')).toBe('42')
    expect(res.headers.has('Stream-Next-Offset')).toBe(true)
    expect(res.headers.get('stream-up-to-date')).toBeNull()
    expect(Object.fromEntries([...res.headers.entries()])).toMatchObject({ 'stream-next-offset': '42' })
    expect(await res.json()).toEqual({ ok: true })
    // A body is read once, as with fetch.
    await expect(res.text()).rejects.toThrow(/Body/)
  })

  it('takes headers as pairs too, and a 4xx is an answer, not an error', async () => {
    handler = (req, _body, res) => res.writeHead(404, { 'x-seen': String(req.headers['x-request-id']) }).end('gone')
    const res = await httpFetch(`${origin}/missing`, { headers: [['X-Request-Id', 'turn:m1']] })
    expect([res.status, res.ok, res.headers.get('x-seen'), await res.text()]).toEqual([404, false, 'turn:m1', 'gone'])
  })

  it('streams a body as it arrives (the model gateway reads NDJSON lines before the answer ends)', async () => {
    let finish!: () => void
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      res.write('{"n":1}\n')
      finish = () => res.end('{"n":2}\n')
    }
    const res = await httpFetch(`${origin}/steps`)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    // The first line is readable while the server still holds the rest.
    expect((await reader.read()).value).toBe('{"n":1}\n')
    finish()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value
    expect(rest).toBe('{"n":2}\n')
  })

  it('rejects with the abort reason, before the answer and in the middle of its body', async () => {
    handler = () => {} // never answers
    const early = new AbortController()
    const pending = httpFetch(`${origin}/hang`, { signal: early.signal })
    early.abort(new Error('stopped early'))
    await expect(pending).rejects.toThrow('stopped early')

    handler = (_req, _body, res) => res.writeHead(200).write('partial')
    const late = new AbortController()
    const res = await httpFetch(`${origin}/half`, { signal: late.signal })
    late.abort(new Error('stopped late'))
    await expect(res.text()).rejects.toThrow('stopped late')
    // An already aborted signal never sends.
    await expect(httpFetch(`${origin}/x`, { signal: AbortSignal.abort(new Error('before')) })).rejects.toThrow('before')
  })

  it('reports a refused connection as a TypeError, like fetch', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await expect(httpFetch(`http://127.0.0.1:${port}/`)).rejects.toBeInstanceOf(TypeError)
  })

  it('reuses one connection for requests one after another, even when a body was never read', async () => {
    handler = (_req, _body, res) => res.writeHead(200).end('unread body')
    await httpFetch(`${origin}/1`) // its body is never asked for
    await new Promise((r) => setImmediate(r))
    const before = connectionCount
    for (let i = 0; i < 5; i++) await (await httpFetch(`${origin}/${i}`)).text()
    expect(connectionCount).toBe(before)
  })

  it('sends an origin routed to a unix socket through that socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-http-fetch-'))
    const path = join(dir, 'server.sock')
    const viaSocket = createServer((req, res) => res.end(`socket saw ${req.method} ${req.url} host ${req.headers.host}`))
    viaSocket.listen(path)
    await once(viaSocket, 'listening')
    try {
      // Nothing listens on this TCP port: only the route can answer.
      routeOriginToSocket('http://127.0.0.1:9', path)
      const res = await httpFetch('http://127.0.0.1:9/api/health')
      expect(await res.text()).toBe('socket saw GET /api/health host 127.0.0.1:9')
    } finally {
      viaSocket.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
