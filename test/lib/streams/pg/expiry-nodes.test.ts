/**
 * Expiry across two PostgreSQL nodes: a stream past its deadline is kept while SSE readers
 * follow it, as on SQLite, also when the readers are on one node and the expiry sweep runs on
 * another; once they leave, the sliding TTL is renewed. Real HTTP, a fresh database.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { PgStreamsServer } from '../../../../src/lib/streams/pg/pg-streams-server'
import { startPgNodes, type PgNodes } from './nodes'

const SWEEP_MS = 200
let cluster: PgNodes
let servers: PgStreamsServer[] = []

beforeAll(async () => {
  cluster = await startPgNodes(2, { sweepIntervalMs: SWEEP_MS, subscriptions: false })
  servers = cluster.servers
}, 120_000)

afterAll(async () => {
  await cluster?.close()
})

const url = (node: number, path: string) => cluster.url(node, path)
const stored = async (path: string) => (await servers[0]!.pg.sql`SELECT id FROM streams WHERE path = ${path}`).length

it("a stream followed live on node 1 outlives its deadline although node 2's sweep sees no readers, and lives on after they leave", async () => {
  const created = await fetch(url(0, 'ttl/live'), { method: 'PUT', headers: { 'content-type': 'application/json', 'stream-ttl': '1' } })
  expect(created.status).toBe(201)
  const reader = new AbortController()
  const sse = await fetch(`${url(0, 'ttl/live')}?offset=-1&live=sse`, { signal: reader.signal })
  expect(sse.status).toBe(200)
  const body = sse.body!.getReader()
  await body.read() // the reader is live on node 1

  await new Promise((r) => setTimeout(r, 2_500)) // past the 1 s TTL, ~12 sweeps on each node
  expect(await stored('ttl/live')).toBe(1)
  // Node 2 also sweeps on demand, with nothing of node 1's readers in its own memory.
  await servers[1]!.sweepExpired()
  expect(await stored('ttl/live')).toBe(1)

  reader.abort() // the last reader leaves: node 1 renews the sliding TTL
  await body.cancel().catch(() => {})
  const head = async () => (await fetch(url(1, 'ttl/live'), { method: 'HEAD' })).status
  for (let i = 0; i < 50 && (await head()) !== 200; i++) await new Promise((r) => setTimeout(r, 50))
  expect(await head()).toBe(200)

  // Nobody reads it any more: it expires and a sweep removes it.
  const gone = Date.now() + 10_000
  while ((await stored('ttl/live')) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 200))
  expect(await stored('ttl/live')).toBe(0)
})

it('a stream nobody reads is removed by any node once due', async () => {
  expect((await fetch(url(1, 'ttl/idle'), { method: 'PUT', headers: { 'content-type': 'application/json', 'stream-ttl': '1' } })).status).toBe(201)
  const gone = Date.now() + 10_000
  while ((await stored('ttl/idle')) > 0 && Date.now() < gone) await new Promise((r) => setTimeout(r, 200))
  expect(await stored('ttl/idle')).toBe(0)
})
