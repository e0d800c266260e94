/**
 * Catch-up reads on PostgreSQL in bounded pieces (pg-reads.ts: readBoundary in one round trip
 * for a stream that is not a fork, JSON rows fetched as text): following Stream-Next-Offset
 * returns every append once, in order, each response within the budget unless one append
 * alone is larger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPgStreamsServer, type PgStreamsServer } from '../../../../src/lib/streams/pg/pg-streams-server'
import { freshDatabase, type TestDatabase } from '../../../support/postgres'

const BUDGET = 200
let db: TestDatabase
let streams: PgStreamsServer

beforeAll(async () => {
  db = await freshDatabase()
  streams = await createPgStreamsServer({ url: db.url, basePath: '/v1/stream', maxReadBytes: BUDGET })
}, 60_000)

afterAll(async () => {
  await streams?.close()
  await db?.drop()
})

const at = (path: string, init: RequestInit = {}) => streams.handle(new Request(`http://node/v1/stream/${path}`, init))

/** Reads from the start to the tail; the bodies in order. */
async function readInPieces(path: string): Promise<Buffer[]> {
  const bodies: Buffer[] = []
  let offset = '-1'
  for (;;) {
    const res = await at(`${path}?offset=${encodeURIComponent(offset)}`)
    expect(res.status).toBe(200)
    bodies.push(Buffer.from(await res.arrayBuffer()))
    const next = res.headers.get('stream-next-offset')!
    if (res.headers.get('stream-up-to-date') === 'true') return bodies
    expect(next).not.toBe(offset)
    offset = next
  }
}

describe('bounded catch-up reads on PostgreSQL', () => {
  it('a JSON stream comes back in pieces within the budget, every message once and in order', async () => {
    await at('json', { method: 'PUT', headers: { 'content-type': 'application/json' } })
    for (let n = 0; n < 40; n++) {
      const res = await at('json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n, text: 'é'.repeat(n % 7) }) })
      expect(res.status).toBe(204)
    }
    const bodies = await readInPieces('json')
    expect(bodies.length).toBeGreaterThan(3)
    const got = bodies.flatMap((b) => JSON.parse(b.toString('utf8')) as Array<{ n: number; text: string }>)
    expect(got).toEqual(Array.from({ length: 40 }, (_, n) => ({ n, text: 'é'.repeat(n % 7) })))
    // Each body is a JSON array of whole rows: the budget plus its brackets and commas.
    for (const b of bodies) expect(b.length).toBeLessThanOrEqual(BUDGET + 2 + 40)
  })

  it('a byte stream with one append over the budget returns that append alone, the rest within it', async () => {
    await at('bytes', { method: 'PUT', headers: { 'content-type': 'application/octet-stream' } })
    const appends = [Buffer.alloc(90, 1), Buffer.alloc(90, 2), Buffer.alloc(500, 3), Buffer.alloc(60, 4), Buffer.alloc(60, 5)]
    for (const body of appends) {
      const res = await at('bytes', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body })
      expect(res.status).toBe(204)
    }
    const bodies = await readInPieces('bytes')
    expect(Buffer.concat(bodies)).toEqual(Buffer.concat(appends))
    expect(bodies.map((b) => b.length)).toEqual([180, 500, 120])
  })
})

describe('long catch-up reads on PostgreSQL, streamed in pieces read ahead (pg-read-ahead.ts)', () => {
  let big: PgStreamsServer
  beforeAll(async () => {
    big = await createPgStreamsServer({ url: db.url, basePath: '/v2/stream' })
  }, 60_000)
  afterAll(async () => {
    await big?.close()
  })
  const on = (path: string, init: RequestInit = {}) => big.handle(new Request(`http://node/v2/stream/${path}`, init))

  it('a read of several MB in one response returns every append once, in order, and the same again', async () => {
    await on('long', { method: 'PUT', headers: { 'content-type': 'application/json' } })
    const text = 'x'.repeat(20_000)
    const batch = (from: number) => JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ n: from + i, text })))
    // 200 appends of ~20 kB: 4 MB, so the body streams out in 1 MB pieces.
    for (let n = 0; n < 200; n += 10) {
      const res = await on('long', { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch(n) })
      expect(res.status).toBe(204)
    }
    for (let round = 0; round < 2; round++) {
      const res = await on('long?offset=-1')
      expect(res.status).toBe(200)
      expect(res.headers.get('stream-up-to-date')).toBe('true')
      const got = JSON.parse(Buffer.from(await res.arrayBuffer()).toString('utf8')) as Array<{ n: number; text: string }>
      expect(got.map((m) => m.n)).toEqual(Array.from({ length: 200 }, (_, n) => n))
      expect(got.every((m) => m.text === text)).toBe(true)
    }
  })
})
