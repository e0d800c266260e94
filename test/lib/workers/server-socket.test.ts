/**
 * The docker workers' link to the server, without Docker: the host relay (server-socket.ts) and the
 * worker's loopback relay (src/worker/server-link.ts) chained, in front of a real HTTP server.
 */
import { existsSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { dirname } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { workerCallbacksFromSettings } from '../../../src/lib/workers/supervisor-wiring'
import { loadSettings } from '../../../src/lib/settings'
import { workerNetworkFrom } from '../../../src/lib/workers/runtimes/docker'
import { openServerSocket, relayTarget } from '../../../src/lib/workers/server-socket'
import { startServerLink, throughLink } from '../../../src/worker/server-link'

let app: Server
let appUrl = ''

beforeAll(async () => {
  app = createServer((req, res) => {
    if (req.url === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: one\n\n')
      setTimeout(() => res.end('data: two\n\n'), 50)
      return
    }
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, auth: req.headers.authorization ?? null, body })))
  })
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r))
  appUrl = `http://127.0.0.1:${(app.address() as { port: number }).port}`
})
afterAll(() => {
  app.close()
})

describe('server socket and worker link', () => {
  it('carries requests, bodies, headers and a streamed response from the worker side to the app', async () => {
    const socket = await openServerSocket({ target: async () => appUrl })
    const link = await startServerLink(socket.path)
    try {
      const base = throughLink(`${appUrl}/`, link)
      expect(base).toBe(link.origin)
      const res = await fetch(`${base}/api/streams?x=1`, { method: 'POST', headers: { authorization: 'Bearer t' }, body: 'hello' })
      expect(await res.json()).toEqual({ method: 'POST', url: '/api/streams?x=1', auth: 'Bearer t', body: 'hello' })
      const sse = await fetch(`${base}/sse`)
      expect(await sse.text()).toBe('data: one\n\ndata: two\n\n')
    } finally {
      await link.close()
      await socket.close()
    }
  })

  it('puts the socket in a private run directory (0700, socket 0660) and removes it on close', async () => {
    const socket = await openServerSocket({ target: appUrl })
    expect(statSync(dirname(socket.path)).mode & 0o777).toBe(0o700)
    expect(statSync(socket.path).mode & 0o777).toBe(0o660)
    await socket.close()
    expect(existsSync(dirname(socket.path))).toBe(false)
  })

  it('drops a worker connection cleanly when the app does not answer', async () => {
    const socket = await openServerSocket({ target: 'http://127.0.0.1:1' })
    const link = await startServerLink(socket.path)
    try {
      await expect(fetch(`${link.origin}/api/health`)).rejects.toThrow()
    } finally {
      await link.close()
      await socket.close()
    }
  })

  it('keeps the server URL path and replaces only its origin', () => {
    expect(throughLink('https://tether.example.com/base/', { origin: 'http://127.0.0.1:4000' })).toBe('http://127.0.0.1:4000/base')
    expect(relayTarget('https://tether.example.com')).toEqual({ host: 'tether.example.com', port: 443, tls: true })
    expect(relayTarget('http://[::1]:3000')).toEqual({ host: '::1', port: 3000, tls: false })
    expect(() => relayTarget('ftp://x')).toThrow(/http\(s\)/)
  })
})

describe('TETHER_WORKER_NETWORK', () => {
  it('defaults to none and accepts an operator network by name', () => {
    expect(workerNetworkFrom(undefined)).toBe('none')
    expect(workerNetworkFrom('')).toBe('none')
    expect(workerNetworkFrom('tether-egress')).toBe('tether-egress')
  })

  it('refuses host at start-up, saying why', () => {
    expect(() => workerNetworkFrom('host')).toThrow(/127\.0\.0\.1/)
    expect(() => workerCallbacksFromSettings('/tmp/unused', loadSettings({ TETHER_WORKER_NETWORK: 'host' }).workers)).toThrow(
      /TETHER_WORKER_NETWORK=host is refused/,
    )
    expect(() => workerNetworkFrom('bad name;rm')).toThrow(/not a Docker network name/)
  })
})
