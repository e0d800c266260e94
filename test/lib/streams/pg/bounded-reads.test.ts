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
