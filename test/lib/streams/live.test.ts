import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'
import { LiveEvent } from '../../../src/lib/streams/live'

let server: StreamsHttpServer
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-live-'))
  server = await startStreamsHttpServer({ file: join(dir, 's.db'), longPollTimeoutMs: 5_000 })
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})
const url = (name: string) => `${server.url}/v1/stream/${name}`

/** Collects the JSON messages of an SSE response until `count` have arrived. */
async function collectSse(res: Response, count: number): Promise<unknown[]> {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  const messages: unknown[] = []
  let buffered = ''
  while (messages.length < count) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += decoder.decode(value, { stream: true })
    let boundary: number
    while ((boundary = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, boundary)
      buffered = buffered.slice(boundary + 2)
      if (!block.startsWith('event: data')) continue
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5))
        .join('\n')
      messages.push(...(JSON.parse(data) as unknown[]))
    }
  }
  await reader.cancel()
  return messages
}

describe('live reads', () => {
  it('delivers every commit to every SSE reader once, in order', async () => {
    const name = `fanout-${Date.now()}`
    await fetch(url(name), { method: 'PUT', headers: { 'content-type': 'application/json' } })
    const readers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${url(name)}?offset=-1&live=sse`)))
    const collected = readers.map((r) => collectSse(r, 100))
    // Bursts of concurrent appends land in shared group commits.
    for (let burst = 0; burst < 10; burst++) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          fetch(url(name), {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'stream-seq': String(burst * 10 + i).padStart(4, '0') },
            body: JSON.stringify({ n: burst * 10 + i }),
          }),
        ),
      )
    }
    const expected = (await (await fetch(url(name))).json()) as unknown[]
    expect(expected).toHaveLength(100)
    for (const got of await Promise.all(collected)) expect(got).toEqual(expected)
  })

  it('encodes a commit once for all readers of the same kind', () => {
    const ev = new LiveEvent(1, { seq: 0, pos: 0 }, { seq: 1, pos: 7 })
    ev.rows.push(Buffer.from('{"a":1}'))
    const first = ev.sharedFrame('json')
    expect(ev.sharedFrame('json')).toBe(first)
    expect(first.toString()).toMatch(
      /^event: data\ndata:\[\{"a":1\}\]\n\nevent: control\ndata:\{"streamNextOffset":"0000000000000001_0000000000000007"/,
    )
  })

  it('a stalled reader neither blocks writers nor other readers, and catches up when it resumes', async () => {
    const name = `stalled-${Date.now()}`
    await fetch(url(name), { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const target = new URL(`${url(name)}?offset=-1&live=sse`)
    const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = httpRequest({ host: target.hostname, port: target.port, path: target.pathname + target.search }, resolve)
      r.on('error', reject)
      r.end()
    })
    stalled.pause()
    const healthy = await fetch(`${url(name)}?offset=-1&live=sse`)
    const piece = 'x'.repeat(64 * 1024)
    // 8 MiB while one reader reads nothing: every append must still be acknowledged.
    for (let i = 0; i < 128; i++) {
      const res = await fetch(url(name), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: `${i}:${piece}\n` })
      expect(res.status).toBe(204)
    }
    const total = 128 * piece.length // lower bound of the SSE bytes the healthy reader must get
    const healthyBytes = await countDataBytes(healthy.body!.getReader(), total)
    expect(healthyBytes).toBeGreaterThanOrEqual(total)
    stalled.resume()
    let text = ''
    await new Promise<void>((resolve) => {
      stalled.on('data', (c: Buffer) => {
        text += c.toString()
        if (text.includes('127:')) {
          stalled.destroy()
          resolve()
        }
      })
    })
    const seen = [...text.matchAll(/data:(\d+):/g)].map((m) => Number(m[1]))
    expect(seen).toEqual(Array.from({ length: 128 }, (_, i) => i))
  }, 60_000)

  it('wakes a long-poll at the tail with the next commit', async () => {
    const name = `lp-${Date.now()}`
    const created = await fetch(url(name), { method: 'PUT', headers: { 'content-type': 'text/plain' } })
    const tail = created.headers.get('stream-next-offset')!
    const poll = fetch(`${url(name)}?offset=${tail}&live=long-poll`)
    await new Promise((r) => setTimeout(r, 50))
    await fetch(url(name), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'woke' })
    const res = await poll
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('woke')
    expect(res.headers.get('stream-cursor')).toMatch(/^\d+$/)
  })
})

async function countDataBytes(reader: ReadableStreamDefaultReader<Uint8Array>, atLeast: number): Promise<number> {
  let bytes = 0
  while (bytes < atLeast) {
    const { value, done } = await reader.read()
    if (done) break
    bytes += value.byteLength
  }
  await reader.cancel()
  return bytes
}
