/**
 * Session leases (issue 14, bar 3's ground): the lease protocol on both engines (a real SQLite
 * file, a fresh PostgreSQL database), then two nodes' keepers on one PostgreSQL database: a node
 * that stops renewing (as after SIGKILL) loses its sessions to the other within the TTL, under a
 * higher fence; a draining node hands its sessions over at once; placement offers a new session
 * to the node with the most free capacity.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../../src/lib/common/logger'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { openPostgres, type OpenedPostgres } from '../../../src/lib/db/postgres'
import { LeaseKeeper } from '../../../src/lib/workers/lease-keeper'
import type { Lease, LeaseStore } from '../../../src/lib/workers/session-leases'
import { pgLeaseStore, sqliteLeaseStore } from '../../../src/lib/workers/session-leases-sql'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

const TTL = 400
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

let dir: string
let sqlite: OpenedDatabase
let pgDb: TestDatabase
let pg: OpenedPostgres

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-leases-'))
  sqlite = openDatabase({ file: join(dir, 'tether.db') })
  pgDb = await freshDatabase()
  pg = await openPostgres(pgDb.url)
}, 60_000)

afterAll(async () => {
  sqlite?.close()
  await pg?.close()
  await pgDb?.drop()
  rmSync(dir, { recursive: true, force: true })
})

const engines: [string, () => LeaseStore][] = [
  ['sqlite', () => sqliteLeaseStore(sqlite.sqlite)],
  ['postgres', () => pgLeaseStore(pg.sql)],
]

describe.each(engines)('lease store on %s', (engine, make) => {
  const sid = (name: string) => `${engine}-${name}`

  it('grants a free session, refuses another node while the lease lives, renews for its holder under the same fence', async () => {
    const store = make()
    const a = await store.acquire(sid('s1'), 'A', 10_000)
    expect(a).toMatchObject({ sessionId: sid('s1'), nodeId: 'A', fence: 1 })
    expect(await store.acquire(sid('s1'), 'B', 10_000)).toBeNull()
    const again = await store.acquire(sid('s1'), 'A', 10_000)
    expect(again?.fence).toBe(1)
    expect(again!.expiresAt).toBeGreaterThanOrEqual(a!.expiresAt)
    expect((await store.holder(sid('s1')))?.nodeId).toBe('A')
  })

  it('a lapsed lease goes to whoever takes it next with the fence + 1; the old holder renews nothing', async () => {
    const store = make()
    await store.acquire(sid('s2'), 'A', TTL)
    await sleep(TTL + 50)
    expect((await store.lapsed(100)).map((l) => l.sessionId)).toContain(sid('s2'))
    const taken = await store.acquire(sid('s2'), 'B', 10_000)
    expect(taken).toMatchObject({ nodeId: 'B', fence: 2 })
    expect((await store.renewAll('A', 10_000)).map((l) => l.sessionId)).not.toContain(sid('s2'))
    expect((await store.renewAll('B', 10_000)).map((l) => l.sessionId)).toContain(sid('s2'))
  })

  it('release hands over at once (only with the current fence); forget drops the lease', async () => {
    const store = make()
    const lease = (await store.acquire(sid('s3'), 'A', 10_000))!
    expect(await store.release(sid('s3'), 'A', lease.fence + 1)).toBe(false)
    expect(await store.acquire(sid('s3'), 'B', 10_000)).toBeNull()
    expect(await store.release(sid('s3'), 'A', lease.fence)).toBe(true)
    expect(await store.acquire(sid('s3'), 'B', 10_000)).toMatchObject({ nodeId: 'B', fence: 2 })
    await store.forget(sid('s3'))
    expect(await store.holder(sid('s3'))).toBeNull()
  })

  it('an offer places only a session nobody runs', async () => {
    const store = make()
    expect(await store.offer(sid('s4'), 'B', 10_000)).toMatchObject({ nodeId: 'B', fence: 1 })
    expect(await store.offer(sid('s4'), 'C', 10_000)).toBeNull()
    expect((await store.renewAll('B', 10_000)).map((l) => l.sessionId)).toContain(sid('s4'))
  })

  it('lists live, non-draining nodes with the most free capacity first', async () => {
    const store = make()
    await store.heartbeat({ nodeId: `${engine}-n1`, capacity: 10, running: 8, draining: false })
    await store.heartbeat({ nodeId: `${engine}-n2`, capacity: 10, running: 1, draining: false })
    await store.heartbeat({ nodeId: `${engine}-n3`, capacity: 50, running: 0, draining: true })
    const live = (await store.liveNodes(10_000)).filter((n) => n.nodeId.startsWith(engine)).map((n) => n.nodeId)
    expect(live).toEqual([`${engine}-n2`, `${engine}-n1`])
    await store.leave(`${engine}-n2`)
    expect((await store.liveNodes(10_000)).some((n) => n.nodeId === `${engine}-n2`)).toBe(false)
  })
})

/** A keeper for one node, recording what it was told to start and stop. */
function node(store: LeaseStore, nodeId: string, capacity = 10) {
  const gained: Lease[] = []
  const lost: string[] = []
  const keeper = new LeaseKeeper({
    store,
    nodeId,
    capacity,
    ttlMs: TTL,
    renewEveryMs: 100,
    onGained: (l) => void gained.push(l),
    onLost: (s) => void lost.push(s),
    log: silentLogger,
  })
  return { keeper, gained, lost }
}

async function waitFor<T>(probe: () => T | undefined | false, what: string, ms = 5_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = probe()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

describe('lease keepers of two nodes on one PostgreSQL database', () => {
  // Each test its own database: a sweeping keeper takes any lapsed lease it finds.
  let own: { db: TestDatabase; pg: OpenedPostgres } | null = null
  const freshStore = async () => {
    const db = await freshDatabase()
    own = { db, pg: await openPostgres(db.url) }
    return pgLeaseStore(own.pg.sql)
  }
  afterEach(async () => {
    await own?.pg.close()
    await own?.db.drop()
    own = null
  })

  it('a node that stops renewing loses its sessions to the other within the TTL, under a higher fence', async () => {
    const store = await freshStore()
    const a = node(store, 'crash-A')
    const b = node(store, 'crash-B')
    await a.keeper.start()
    await a.keeper.take('crash-s1')
    await a.keeper.take('crash-s2')
    await b.keeper.start()
    expect(await b.keeper.take('crash-s1')).toBeNull()
    const stoppedAt = Date.now()
    a.keeper.stop() // as after SIGKILL: no release, the leases lapse
    await waitFor(() => b.gained.length === 2, 'the takeover')
    // Issue 14 bar 3's promise (takeover within 10 s), not a speed measurement: with the real
    // 6 s TTL and 2 s rounds the worst case is 8 s.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000)
    expect(b.gained.map((l) => [l.sessionId, l.fence]).sort()).toEqual([
      ['crash-s1', 2],
      ['crash-s2', 2],
    ])
    // The old holder, were it still alive, would learn it lost them on its next round.
    await a.keeper.tick()
    expect(a.lost.sort()).toEqual(['crash-s1', 'crash-s2'])
    b.keeper.stop()
  })

  it('a draining node stops its workers and hands its sessions over at once, not after the TTL', async () => {
    const store = await freshStore()
    const a = node(store, 'drain-A')
    const b = node(store, 'drain-B')
    await a.keeper.start()
    await a.keeper.take('drain-s1')
    await b.keeper.start()
    await a.keeper.drain()
    expect(a.lost).toEqual(['drain-s1'])
    expect(await b.keeper.take('drain-s1')).toMatchObject({ nodeId: 'drain-B', fence: 2 })
    expect(a.keeper.leases()).toEqual([])
    b.keeper.stop()
  })

  it('a new session is offered to the live node with the most free capacity, which starts it on its next round', async () => {
    const store = await freshStore()
    const busy = node(store, 'place-busy', 2)
    const idle = node(store, 'place-idle', 5)
    await busy.keeper.start()
    await busy.keeper.take('place-x')
    await idle.keeper.start()
    const lease = await busy.keeper.place('place-new')
    expect(lease?.nodeId).toBe('place-idle')
    await waitFor(() => idle.gained.some((l) => l.sessionId === 'place-new'), 'the offered session to start')
    expect(busy.gained.map((l) => l.sessionId)).toEqual(['place-x'])
    busy.keeper.stop()
    idle.keeper.stop()
  })
})
