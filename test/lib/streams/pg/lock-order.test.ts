/**
 * Two nodes whose write batches touch the same streams (issue 14, found by the node-capacity-pg
 * bench: an agent writing on one node while its viewers' presence goes through another). Each
 * node's group commit locks every stream row of its batch in one transaction; in arrival order,
 * node A's [x, y] and node B's [y, x] deadlocked (1 s each, then one-by-one retries). Batches now
 * take row locks in path order on every node (pg-queue.ts inLockOrder): no deadlock, and every
 * append lands once and in each node's order per stream.
 */
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { inLockOrder } from '../../../../src/lib/streams/pg/pg-queue'
import { startPgNodes, type PgNodes } from './nodes'

const ROUNDS = 40
let cluster: PgNodes

beforeAll(async () => {
  cluster = await startPgNodes(2)
}, 120_000)

afterAll(async () => {
  await cluster?.close()
})

async function deadlocks(): Promise<number> {
  const sql = postgres(cluster.db.url, { max: 1, onnotice: () => {} })
  try {
    const [row] = await sql<{ n: number }[]>`SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()`
    return Number(row?.n ?? 0)
  } finally {
    await sql.end({ timeout: 5 })
  }
}

describe('lock order across nodes', () => {
  it('orders a batch by lock key, stably, keyless operations last', () => {
    const ops = [{ lockKey: 'b', n: 1 }, { n: 2 }, { lockKey: 'a', n: 3 }, { lockKey: 'b', n: 4 }, { lockKey: 'a', n: 5 }]
    expect(inLockOrder(ops).map((o) => o.n)).toEqual([3, 5, 1, 4, 2])
  })

  it('two nodes appending to the same two streams in opposite orders never deadlock, and lose nothing', async () => {
    const [a, b] = cluster.servers
    const url = (path: string) => `http://node/v1/stream/${path}`
    for (const path of ['lock-x', 'lock-y']) {
      const res = await a!.handle(new Request(url(path), { method: 'PUT', headers: { 'content-type': 'application/json' } }))
      expect(res.status).toBe(201)
    }
    const post = (node: typeof a, path: string, body: unknown) =>
      node!.handle(new Request(url(path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
    const before = await deadlocks()
    for (let round = 0; round < ROUNDS; round++) {
      // Started in one turn, so each node's two appends share one batch: a takes x then y, b y then x.
      const answers = await Promise.all([
        post(a, 'lock-x', { node: 'a', round }),
        post(a, 'lock-y', { node: 'a', round }),
        post(b, 'lock-y', { node: 'b', round }),
        post(b, 'lock-x', { node: 'b', round }),
      ])
      expect(answers.map((r) => r.status)).toEqual([204, 204, 204, 204])
    }
    expect(await deadlocks()).toBe(before)
    for (const path of ['lock-x', 'lock-y']) {
      const read = (await (await a!.handle(new Request(`${url(path)}?offset=-1`))).json()) as Array<{ node: string; round: number }>
      for (const node of ['a', 'b']) {
        expect(read.filter((m) => m.node === node).map((m) => m.round)).toEqual(Array.from({ length: ROUNDS }, (_, i) => i))
      }
    }
  }, 120_000)
})
