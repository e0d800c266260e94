/**
 * One-statement appends (pg-fast-append.ts): a node plans an append on what it last wrote to
 * the stream, and tether_append writes only if that still holds. These tests move the stream
 * on another node between a node's appends, so its guess is stale, and check that every
 * answer is the one a fresh read would give.
 */
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../../src/lib/db/postgres'
import { createPgStreamsServer } from '../../../../src/lib/streams/pg/pg-streams-server'
import type { TestDatabase } from '../../../support/postgres'
import { startPgNodes, type PgNodes } from './nodes'

let cluster: PgNodes
let db: TestDatabase

beforeAll(async () => {
  cluster = await startPgNodes(2)
  db = cluster.db
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

const url = (node: number, path: string) => cluster.url(node, path)
const JSON_TYPE = { 'content-type': 'application/json' }

function post(node: number, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(url(node, path), { method: 'POST', headers: { ...JSON_TYPE, ...headers }, body: JSON.stringify(body) })
}

async function readAll(node: number, path: string): Promise<unknown[]> {
  const res = await fetch(`${url(node, path)}?offset=-1`)
  expect(res.status).toBe(200)
  return (await res.json()) as unknown[]
}

describe('appends planned on a stale guess (two PostgreSQL nodes)', () => {
  it('appends alternating between the nodes land in order, each at its own offset', async () => {
    await fetch(url(0, 'alternate'), { method: 'PUT', headers: JSON_TYPE })
    const offsets: string[] = []
    for (let n = 0; n < 20; n++) {
      const res = await post(n % 2, 'alternate', { n })
      expect(res.status).toBe(204)
      offsets.push(res.headers.get('stream-next-offset')!)
    }
    expect(new Set(offsets).size).toBe(offsets.length)
    expect([...offsets].sort()).toEqual(offsets)
    expect(await readAll(1, 'alternate')).toEqual(Array.from({ length: 20 }, (_, n) => ({ n })))
  })

  it('a producer moving between nodes keeps its sequence: duplicates 204, gaps 409', async () => {
    await fetch(url(0, 'producer'), { method: 'PUT', headers: JSON_TYPE })
    const as = (seq: number) => ({ 'producer-id': 'p1', 'producer-epoch': '0', 'producer-seq': String(seq) })
    expect((await post(0, 'producer', { seq: 0 }, as(0))).status).toBe(200)
    expect((await post(1, 'producer', { seq: 1 }, as(1))).status).toBe(200)
    // Node 1 remembers seq 0 for this producer; the stored row says 1.
    expect((await post(0, 'producer', { seq: 2 }, as(2))).status).toBe(200)
    expect((await post(1, 'producer', { seq: 2 }, as(2))).status).toBe(204)
    const gap = await post(1, 'producer', { seq: 9 }, as(9))
    expect(gap.status).toBe(409)
    expect(gap.headers.get('producer-expected-seq')).toBe('3')
    expect(await readAll(0, 'producer')).toEqual([{ seq: 0 }, { seq: 1 }, { seq: 2 }])
  })

  it('concurrent appends on both nodes: every one stored once, none lost', async () => {
    await fetch(url(0, 'concurrent'), { method: 'PUT', headers: JSON_TYPE })
    const posts = Array.from({ length: 60 }, (_, n) => post(n % 2, 'concurrent', { n }))
    const answers = await Promise.all(posts)
    for (const a of answers) expect(a.status).toBe(204)
    expect(new Set(answers.map((a) => a.headers.get('stream-next-offset'))).size).toBe(60)
    const stored = (await readAll(0, 'concurrent')) as Array<{ n: number }>
    expect(stored.map((m) => m.n).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, n) => n))
  })

  it('a stream closed on the other node refuses the next append with 409', async () => {
    await fetch(url(0, 'closed'), { method: 'PUT', headers: JSON_TYPE })
    expect((await post(0, 'closed', { n: 0 })).status).toBe(204)
    expect((await fetch(url(1, 'closed'), { method: 'POST', headers: { 'stream-closed': 'true' } })).status).toBe(204)
    const refused = await post(0, 'closed', { n: 1 })
    expect(refused.status).toBe(409)
    expect(refused.headers.get('stream-closed')).toBe('true')
  })

  it('a stream deleted and created again on the other node gets the append, not the old one', async () => {
    await fetch(url(0, 'again'), { method: 'PUT', headers: JSON_TYPE })
    expect((await post(0, 'again', { old: 1 })).status).toBe(204)
    expect((await fetch(url(1, 'again'), { method: 'DELETE' })).status).toBe(204)
    expect((await post(0, 'again', { lost: 1 })).status).toBe(404)
    expect((await fetch(url(1, 'again'), { method: 'PUT', headers: JSON_TYPE })).status).toBe(201)
    expect((await post(0, 'again', { fresh: 1 })).status).toBe(204)
    expect(await readAll(1, 'again')).toEqual([{ fresh: 1 }])
  })
})

describe('appends to a stream only this node writes', () => {
  it('take one statement each (no locked read, no BEGIN, no COMMIT)', async () => {
    const sent: string[] = []
    const migrated = await openPostgres(db.url)
    await migrated.close()
    // The same connection settings as openPostgres, with every statement sent recorded.
    const sql = postgres(db.url, {
      max: 4,
      onnotice: () => {},
      debug: (_conn, text) => sent.push(text),
      types: { bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (s: string) => Number(s) } },
    })
    const streams = await createPgStreamsServer({ pg: { sql, db: drizzle(sql), migrationsFolder: migrated.migrationsFolder, close: () => sql.end() }, basePath: '/v1/stream' })
    try {
      const at = (p: string, init: RequestInit) => streams.handle(new Request(`http://node/v1/stream/${p}`, init))
      expect((await at('solo', { method: 'PUT', headers: JSON_TYPE })).status).toBe(201)
      expect((await at('solo', { method: 'POST', headers: JSON_TYPE, body: '{"n":0}' })).status).toBe(204)
      sent.length = 0
      for (let n = 1; n <= 10; n++) expect((await at('solo', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ n }) })).status).toBe(204)
      expect(sent).toHaveLength(10)
      for (const text of sent) expect(text).toMatch(/^SELECT tether_append\(/)
      const stored = await (await at('solo', { method: 'GET' })).json()
      expect(stored).toEqual(Array.from({ length: 11 }, (_, n) => ({ n })))
    } finally {
      await streams.close()
      await sql.end({ timeout: 5 })
    }
  })
})
