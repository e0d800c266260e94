import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CLIENT_CLOSED_STATUS, markClientDisconnects } from '../../src/server/client-disconnect'
import { startProductionServer, type ProductionServer } from '../support/production-server'

describe('markClientDisconnects', () => {
  it('gives the abort reason of a dropped request the status 499, and nothing else', () => {
    const controller = new AbortController()
    const req = markClientDisconnects(new Request('http://x/', { signal: controller.signal }))
    const reason = Object.assign(new Error('aborted'), { code: 'ECONNRESET' })
    controller.abort(reason)
    expect(req.signal.reason).toBe(reason)
    expect((reason as Error & { status?: number }).status).toBe(CLIENT_CLOSED_STATUS)
  })

  it('marks a request that was already aborted when it arrived', () => {
    const controller = new AbortController()
    controller.abort()
    const req = markClientDisconnects(new Request('http://x/', { signal: controller.signal }))
    expect((req.signal.reason as { status?: number }).status).toBe(CLIENT_CLOSED_STATUS)
  })

  it('leaves requests that were not aborted alone', () => {
    const req = markClientDisconnects(new Request('http://x/'))
    expect(req.signal.aborted).toBe(false)
  })
})

/** Opens a raw GET, waits until the response head (or `ms`), then drops the socket abruptly. */
function dropMidRequest(port: number, path: string, reset: boolean): Promise<void> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`)
    })
    const drop = () => {
      if (reset) socket.resetAndDestroy()
      else socket.destroy()
    }
    // Long-polls send nothing until they answer: drop them while they wait.
    const timer = setTimeout(drop, 200)
    socket.once('data', () => {
      clearTimeout(timer)
      drop()
    })
    socket.once('close', () => done())
  })
}

describe('production server: ordinary disconnects', () => {
  let server: ProductionServer
  let sessionId: string

  beforeAll(async () => {
    server = await startProductionServer({ TETHER_AUTH: 'off', TETHER_WORKERS: 'off', LOG_LEVEL: 'info' })
    const created = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'drops', pattern: 'long-running' }),
    })
    expect(created.status).toBe(201)
    sessionId = ((await created.json()) as { session: { id: string } }).session.id
    const put = await fetch(`${server.url}/v1/stream/drops`, { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    expect(put.status).toBe(201)
  })

  afterAll(async () => {
    await server?.dispose()
  })

  it('logs no ECONNRESET / aborted stack after readers drop live reads, and still serves', async () => {
    const paths = [
      `/api/streams/sessions/${sessionId}?offset=now&live=long-poll`,
      `/api/streams/sessions/${sessionId}?offset=-1&live=sse`,
      `/v1/stream/drops?offset=now&live=long-poll`,
      `/v1/stream/drops?offset=-1&live=sse`,
    ]
    const before = server.output().length
    for (let round = 0; round < 3; round++) {
      for (const path of paths) await dropMidRequest(server.port, path, round % 2 === 1)
    }
    // The server still answers, and has taken note of the drops (an append wakes no dead reader).
    const append = await fetch(`${server.url}/v1/stream/drops`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'still here' })
    expect(append.status).toBe(204)
    const read = await fetch(`${server.url}/v1/stream/drops?offset=-1`)
    expect(await read.text()).toBe('still here')
    // Output is read after a request that went through the same pipeline, so any log of the drops is in.
    const after = server.output().slice(before)
    expect(after).not.toMatch(/ECONNRESET|Error: aborted|abortIncoming/)
  })
})
