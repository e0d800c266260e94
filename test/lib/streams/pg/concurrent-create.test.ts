/**
 * Two streams nodes on one PostgreSQL database creating the same new path at once: `FOR UPDATE`
 * locks nothing that does not exist yet, so both may find no row and both insert. The loser
 * must answer as if it had come second (200 for the same configuration, 409 for another),
 * never 500 for the unique path it ran into.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ServedStreams } from '../../../../src/lib/streams/http-server'
import { startPgNodes, type PgNodes } from './nodes'

/** PUTs per path on each node, all sent at once. */
const PER_NODE = 6
const PATHS = 8
let cluster: PgNodes
let nodes: ServedStreams[] = []

beforeAll(async () => {
  cluster = await startPgNodes(2)
  nodes = cluster.served
}, 60_000)

afterAll(async () => {
  await cluster?.close()
})

const url = (node: number, path: string) => cluster.url(node, path)

/** Every node PUTs `path` PER_NODE times at once; `contentType(i)` picks each PUT's configuration. */
async function racePuts(path: string, contentType: (i: number) => string): Promise<Array<{ status: number; contentType: string; body: string }>> {
  const puts = []
  for (let i = 0; i < PER_NODE * nodes.length; i++) {
    const ct = contentType(i)
    puts.push(
      fetch(url(i % nodes.length, path), { method: 'PUT', headers: { 'content-type': ct } }).then(async (res) => ({
        status: res.status,
        contentType: ct,
        body: await res.text(),
      })),
    )
  }
  return Promise.all(puts)
}

describe('concurrent creates of one path on two PostgreSQL nodes', () => {
  it('the same configuration: one 201, every other PUT 200, never 500', async () => {
    for (let p = 0; p < PATHS; p++) {
      const answers = await racePuts(`same-${p}`, () => 'application/json')
      const statuses = answers.map((a) => a.status)
      expect(statuses.filter((s) => s === 201), JSON.stringify(answers)).toHaveLength(1)
      expect(statuses.filter((s) => s === 200)).toHaveLength(answers.length - 1)
    }
  }, 60_000)

  it('different configurations: one 201, 200 for the winner configuration, 409 for the other, never 500', async () => {
    for (let p = 0; p < PATHS; p++) {
      const path = `mixed-${p}`
      const answers = await racePuts(path, (i) => (i % 3 === 0 ? 'text/plain' : 'application/json'))
      const winner = answers.filter((a) => a.status === 201)
      expect(winner, JSON.stringify(answers)).toHaveLength(1)
      const stored = (await fetch(url(1, path), { method: 'HEAD' })).headers.get('content-type')
      expect(stored).toBe(winner[0]!.contentType)
      for (const a of answers) {
        if (a.status === 201) continue
        expect(a.status, a.body).toBe(a.contentType === stored ? 200 : 409)
      }
    }
  }, 60_000)
})
