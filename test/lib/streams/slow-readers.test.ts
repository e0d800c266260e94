import { mkdtempSync, rmSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'

// Real HTTP on loopback, real SQLite file: a reader that stops reading while a writer appends
// 50 MB. The server's buffer for it stays bounded, it is cut off after a complete event, and it
// resumes from that event's offset to get every message exactly once, in order.
const MiB = 1024 * 1024
const MAX_BUFFER = MiB
const MESSAGES = 800
const PIECE = 64 * 1024 - 16 // 800 x 64 KiB = 50 MiB

let dir: string
let server: StreamsHttpServer
let quick: StreamsHttpServer

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-slow-'))
  // Cut off by lag (8 MiB behind while at the buffer bound); generous time to take the end.
  server = await startStreamsHttpServer({
    file: join(dir, 'a.db'),
    sseLimits: { maxBufferBytes: MAX_BUFFER, slowGraceMs: 600_000, maxLagBytes: 8 * MiB, endDrainMs: 60_000 },
  })
  // Cut off by time at the bound, and disconnected soon if it never takes the end.
  quick = await startStreamsHttpServer({
    file: join(dir, 'b.db'),
    sseLimits: { maxBufferBytes: MAX_BUFFER, slowGraceMs: 200, maxLagBytes: 1024 * MiB, endDrainMs: 300 },
  })
})

afterAll(async () => {
  await server?.close()
  await quick?.close()
  rmSync(dir, { recursive: true, force: true })
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(what: string, check: () => boolean, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`)
    await sleep(20)
  }
}

const message = (i: number) => `<${i}>${'x'.repeat(PIECE)}`

/** Opens a live SSE read on a raw socket and stops reading once the response head is in. */
function pausedReader(s: StreamsHttpServer, path: string, offset: string) {
  const { hostname, port } = new URL(s.url)
  const socket: Socket = connect({ host: hostname, port: Number(port) })
  const chunks: Buffer[] = []
  let closed = false
  let holding = true
  socket.on('data', (c: Buffer) => {
    chunks.push(c)
    if (holding) socket.pause()
  })
  socket.on('close', () => {
    closed = true
  })
  socket.on('error', () => {})
  socket.write(`GET /v1/stream/${path}?offset=${offset}&live=sse HTTP/1.1\r\nHost: ${hostname}\r\n\r\n`)
  return {
    /** Reads again, to the end of the response. */
    resume() {
      holding = false
      socket.resume()
    },
    get closed() {
      return closed
    },
    text: () => Buffer.concat(chunks).toString('latin1'),
  }
}

interface Parsed {
  /** Message numbers of data events confirmed by the control event after them. */
  ids: number[]
  /** streamNextOffset of the last complete control event. */
  offset: string | null
  /** Whatever followed the last complete event (an event cut in the middle). */
  rest: string
  lastEvent: string
}

/** Parses an SSE body the way a client does: data counts once its control event arrives. */
function parseSse(body: string): Parsed {
  const events = body.split('\n\n')
  const rest = events.pop() ?? ''
  const ids: number[] = []
  let pending: number[] = []
  let offset: string | null = null
  let lastEvent = ''
  for (const event of events) {
    lastEvent = event
    const data = event
      .split('\n')
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5))
      .join('\n')
    if (event.startsWith('event: data')) pending = [...data.matchAll(/<(\d+)>/g)].map((m) => Number(m[1]))
    else if (event.startsWith('event: control')) {
      ids.push(...pending)
      pending = []
      offset = (JSON.parse(data) as { streamNextOffset: string }).streamNextOffset
    }
  }
  return { ids, offset, rest, lastEvent }
}

async function createText(s: StreamsHttpServer, name: string): Promise<void> {
  const res = await fetch(`${s.url}/v1/stream/${name}`, { method: 'PUT', headers: { 'content-type': 'text/plain' } })
  expect(res.status).toBe(201)
}

async function appendAll(s: StreamsHttpServer, name: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    const res = await fetch(`${s.url}/v1/stream/${name}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: message(i) })
    expect(res.status).toBe(204)
  }
}

/**
 * Reads live SSE from `offset` until message `last` has arrived, as a client does: events are
 * parsed as they arrive, and when the server ends a response (lifetime, cut-off) it reconnects
 * from the last control event's offset. Returns the confirmed ids.
 */
async function readUntil(s: StreamsHttpServer, name: string, offset: string, last: number): Promise<number[]> {
  const ids: number[] = []
  let from = offset
  while (ids.at(-1) !== last) {
    const res = await fetch(`${s.url}/v1/stream/${name}?offset=${from}&live=sse`)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let pending = ''
    while (ids.at(-1) !== last) {
      const { value, done } = await reader.read()
      if (done) break
      pending += decoder.decode(value, { stream: true })
      // Up to the end of the last complete control event (data counts once confirmed).
      const control = pending.lastIndexOf('event: control')
      const cut = control === -1 ? -1 : pending.indexOf('\n\n', control)
      if (cut === -1) continue
      const parsed = parseSse(pending.slice(0, cut + 2))
      pending = pending.slice(cut + 2)
      ids.push(...parsed.ids)
      if (parsed.offset) from = parsed.offset
    }
    await reader.cancel().catch(() => {})
  }
  return ids
}

describe('slow SSE readers', () => {
  it('a reader that stops reading during a 50 MB write stays bounded, is cut off after a complete event, and resumes exactly once', async () => {
    await createText(server, 'paused')
    const reader = pausedReader(server, 'paused', '-1')
    await until('the response head', () => reader.text().includes('\r\n\r\n'))
    let peakTotal = 0
    for (let i = 0; i < MESSAGES; i += 50) {
      await appendAll(server, 'paused', i, i + 50)
      peakTotal = Math.max(peakTotal, server.streams.sseStats().bufferedBytes)
    }
    await until('the cut-off', () => server.streams.sseStats().cutOffs === 1)
    const stats = server.streams.sseStats()
    // Bounded: the buffer limit plus at most one frame (a 256 KiB catch-up chunk or one 64 KiB append).
    expect(stats.peakReaderBufferedBytes).toBeLessThanOrEqual(MAX_BUFFER + 300 * 1024)
    expect(peakTotal).toBeLessThanOrEqual(MAX_BUFFER + 300 * 1024)
    expect(stats.readers).toBe(0)

    // The client reads again: it gets what was sent, then the end of the response.
    reader.resume()
    await until('the end of the cut-off response', () => reader.closed)
    const body = reader.text()
    const first = parseSse(body.slice(body.indexOf('\r\n\r\n') + 4))
    // Ended after a complete event, and that event is a control event with the resume offset.
    expect(first.rest).toBe('')
    expect(first.lastEvent.startsWith('event: control')).toBe(true)
    expect(first.offset).not.toBeNull()
    expect(first.ids.length).toBeGreaterThan(0)
    expect(first.ids.length).toBeLessThan(MESSAGES)

    const rest = await readUntil(server, 'paused', first.offset!, MESSAGES - 1)
    expect([...first.ids, ...rest]).toEqual(Array.from({ length: MESSAGES }, (_, i) => i))
  }, 180_000)

  it('a reader at its bound past the grace time is cut off, and dropped if it never takes the end', async () => {
    await createText(quick, 'never')
    const reader = pausedReader(quick, 'never', '-1')
    await until('the response head', () => reader.text().includes('\r\n\r\n'))
    await appendAll(quick, 'never', 0, 160) // 10 MiB: far more than the bound and the socket buffers
    await until('the cut-off', () => quick.streams.sseStats().cutOffs === 1)
    await until('the server dropping the connection', () => quick.streams.sseStats().dropped === 1)
    reader.resume()
    await until('the client seeing the end', () => reader.closed)
    expect(quick.streams.sseStats().readers).toBe(0)
    expect(quick.streams.sseStats().peakReaderBufferedBytes).toBeLessThanOrEqual(MAX_BUFFER + 300 * 1024)
    // Whatever it had received resumes cleanly: a client never counts an unconfirmed data event.
    const got = parseSse(reader.text().slice(reader.text().indexOf('\r\n\r\n') + 4))
    const rest = await readUntil(quick, 'never', got.offset ?? '-1', 159)
    expect([...got.ids, ...rest]).toEqual(Array.from({ length: 160 }, (_, i) => i))
  }, 120_000)
})
