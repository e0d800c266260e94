/**
 * Cross-node notices only where another node reads (issue 14 bar 4; pg-watches.ts,
 * pg-notices.ts, drizzle/pg/0005). Two streams nodes on one real PostgreSQL database and a
 * plain LISTEN connection of the test's own that counts what goes out on `tether_streams`.
 */
import postgres, { type Sql } from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FastResponseClass, serveStreams } from '../../../../src/lib/streams/http-server'
import { STREAMS_CHANNEL } from '../../../../src/lib/streams/pg/pg-notices'
import { createPgStreamsServer } from '../../../../src/lib/streams/pg/pg-streams-server'
import { PgWatches } from '../../../../src/lib/streams/pg/pg-watches'
import { followSse } from '../../../support/follow-stream'
import { startPgNodes, type PgNodes } from './nodes'

let cluster: PgNodes
let sql: Sql
const heard: string[] = []

beforeAll(async () => {
  cluster = await startPgNodes(2, { longPollTimeoutMs: 60_000 })
  sql = postgres(cluster.db.url, { max: 2, onnotice: () => {} })
  await sql.listen(STREAMS_CHANNEL, (payload) => void heard.push(payload))
}, 120_000)

afterAll(async () => {
  await sql?.end({ timeout: 5 })
  await cluster?.close()
})

const json = { 'content-type': 'application/json' }
const put = (node: number, path: string) => fetch(cluster.url(node, path), { method: 'PUT', headers: json })
const post = (node: number, path: string, n: number) =>
  fetch(cluster.url(node, path), { method: 'POST', headers: json, body: JSON.stringify({ n }) })
const streamId = async (path: string) => Number((await sql`SELECT id FROM streams WHERE path = ${path}`)[0]!.id)
const settle = () => new Promise((r) => setTimeout(r, 300))
/** Notices about stream `id` heard so far (creates included). */
const noticesOf = (id: number) => heard.filter((p) => p.split(' ')[1] === String(id))

describe('cross-node notices on PostgreSQL', () => {
  it('sends no notice for appends nobody reads on another node, and one per append once a node does', async () => {
    expect((await put(0, 'quiet')).status).toBe(201)
    const id = await streamId('quiet')
    // A reader on the writing node itself hears its commits directly: it needs no notice.
    const local = followSse(cluster.url(0, 'quiet'), { count: 10, pick: (m) => (m as { n: number }).n })
    await settle()
    for (let n = 0; n < 10; n++) expect((await post(0, 'quiet', n)).status).toBe(204)
    expect(await local).toEqual([...Array(10).keys()])
    await settle()
    const afterLonely = noticesOf(id).length
    expect(afterLonely).toBe(1) // the create's, sent always

    const remote = followSse(cluster.url(1, 'quiet'), { count: 15, pick: (m) => (m as { n: number }).n })
    await settle()
    const watchers = await sql`SELECT node FROM stream_watchers WHERE stream_id = ${id}`
    expect(watchers).toHaveLength(2) // node 0's own reader watches too; node 0 ignores its own watch
    for (let n = 10; n < 15; n++) expect((await post(0, 'quiet', n)).status).toBe(204)
    expect(await remote).toEqual([...Array(15).keys()])
    await settle()
    expect(noticesOf(id).length - afterLonely).toBe(5)
  }, 60_000)

  it('a watch waits for an append in flight and returns the tail with it, so the reader reads it itself', async () => {
    expect((await put(0, 'racing')).status).toBe(201)
    const id = await streamId('racing')
    const watches = new PgWatches(sql, 'test-node')
    let watchedAt: { seq: number; pos: number } | null | undefined
    let registered: Promise<unknown> | undefined
    await sql.begin(async (tx) => {
      // An append's transaction holds the stream row as tether_append does, and moves the tail.
      await tx`SELECT id FROM streams WHERE id = ${id} FOR UPDATE`
      await tx`UPDATE streams SET tail_seq = tail_seq + 1, tail_pos = tail_pos + 7 WHERE id = ${id}`
      registered = (watches.watch(id) as Promise<{ seq: number; pos: number } | null>).then((t) => {
        watchedAt = t
      })
      await settle()
      expect(watchedAt).toBeUndefined() // still waiting on the row lock
    })
    await registered
    const [row] = await sql`SELECT tail_seq, tail_pos FROM streams WHERE id = ${id}`
    expect(watchedAt).toEqual({ seq: Number(row!.tail_seq), pos: Number(row!.tail_pos) })
    expect(watches.watch(id)).toBeUndefined() // watched now: no round trip
    await watches.clear()
  }, 30_000)

  it('renews a lapsed watch and names its stream, and drops the watches of streams no longer read', async () => {
    expect((await put(0, 'lapsing')).status).toBe(201)
    const id = await streamId('lapsing')
    const watches = new PgWatches(sql, 'lapse-node')
    await watches.watch(id)
    expect(await watches.renew([id])).toEqual([]) // alive: nothing to re-check
    await sql`UPDATE stream_watchers SET expires_at = 0 WHERE node = 'lapse-node'`
    expect(await watches.renew([id])).toEqual([id])
    const [renewed] = await sql`SELECT expires_at FROM stream_watchers WHERE node = 'lapse-node' AND stream_id = ${id}`
    expect(Number(renewed!.expires_at)).toBeGreaterThan(Date.now())
    await watches.clear()
    expect(await sql`SELECT 1 FROM stream_watchers WHERE node = 'lapse-node'`).toHaveLength(0)
  }, 30_000)

  it('a closing node takes its watches with it', async () => {
    expect((await put(0, 'leaving')).status).toBe(201)
    const id = await streamId('leaving')
    const streams = await createPgStreamsServer({ url: cluster.db.url, basePath: '/v1/stream', responseClass: FastResponseClass })
    const leaving = await serveStreams(streams)
    const reader = followSse(`${leaving.url}/v1/stream/leaving`, { count: 1, pick: (m) => (m as { n: number }).n })
    await settle()
    expect(await sql`SELECT 1 FROM stream_watchers WHERE stream_id = ${id}`).toHaveLength(1)
    expect((await post(0, 'leaving', 0)).status).toBe(204)
    expect(await reader).toEqual([0])
    await leaving.close()
    expect(await sql`SELECT node FROM stream_watchers WHERE stream_id = ${id}`).toHaveLength(0)
  }, 30_000)
})
