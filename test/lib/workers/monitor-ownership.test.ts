/**
 * Which node's monitor looks after a session when several nodes share the database
 * (src/lib/workers/monitor-ownership.ts): the lease holder's for a held session, one live node by
 * rendezvous hashing for the others, and only that node's monitor acts on it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type OpenedDatabase } from '../../../src/lib/db/connection'
import { SessionMonitor } from '../../../src/lib/sessions/monitor'
import { monitorOwnership, rendezvousOwner } from '../../../src/lib/workers/monitor-ownership'
import type { LeaseStore } from '../../../src/lib/workers/session-leases'
import { sqliteLeaseStore } from '../../../src/lib/workers/session-leases-sql'
import { createSession, startHarness, type Harness } from '../sessions/harness'

const NODES = ['node-a', 'node-b', 'node-c']
const heartbeat = async (store: LeaseStore, nodeId: string, draining = false) => store.heartbeat({ nodeId, capacity: 10, running: 0, draining })

let dir: string
let db: OpenedDatabase
let store: LeaseStore

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tether-ownership-'))
  db = openDatabase({ file: join(dir, 'leases.db') })
  store = sqliteLeaseStore(db.sqlite)
})

afterAll(() => {
  db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('monitor ownership', () => {
  it('gives a held session to its holder and every other session to exactly one live node, spread over them', async () => {
    for (const n of NODES) await heartbeat(store, n)
    await store.acquire('s-held', 'node-c', 60_000)
    const views = NODES.map((n) => monitorOwnership(store, () => n))
    for (const v of views) await v.refresh()
    expect(views.map((v) => v.owns('s-held'))).toEqual([false, false, true])
    const sessions = Array.from({ length: 90 }, (_, i) => `s-${i}`)
    const owners = sessions.map((s) => views.filter((v) => v.owns(s)).length)
    expect(owners.every((n) => n === 1)).toBe(true)
    const share = views.map((v) => sessions.filter((s) => v.owns(s)).length)
    for (const n of share) expect(n).toBeGreaterThan(10)
  })

  it('moves only a leaving node’s share of unheld sessions', async () => {
    const sessions = Array.from({ length: 60 }, (_, i) => `m-${i}`)
    const before = new Map(sessions.map((s) => [s, rendezvousOwner(NODES, s)]))
    const after = new Map(sessions.map((s) => [s, rendezvousOwner(['node-a', 'node-c'], s)]))
    for (const s of sessions) if (before.get(s) !== 'node-b') expect(after.get(s)).toBe(before.get(s))
    // A draining node is not live: its unheld sessions go to the others at their next refresh.
    await heartbeat(store, 'node-b', true)
    const a = monitorOwnership(store, () => 'node-a')
    const c = monitorOwnership(store, () => 'node-c')
    await a.refresh()
    await c.refresh()
    for (const s of sessions) expect(Number(a.owns(s)) + Number(c.owns(s))).toBe(1)
  })

  it('looks after every session while this node has no id (workers off, or before its keeper ran)', async () => {
    const view = monitorOwnership(store, () => null)
    await view.refresh()
    expect(view.owns('s-held')).toBe(true)
  })

  it("a node's monitor acts only on the sessions it owns", async () => {
    const h: Harness = await startHarness('builtin')
    try {
      const mine = await createSession(h, { limits: { maxIdleTimeMs: 60_000 } })
      const theirs = await createSession(h, { limits: { maxIdleTimeMs: 60_000 } })
      await heartbeat(store, 'node-a')
      await heartbeat(store, 'node-c')
      await store.acquire(mine, 'node-a', 60_000)
      await store.acquire(theirs, 'node-c', 60_000)
      const monitor = new SessionMonitor({
        manager: h.app.manager,
        store: h.app.store,
        now: h.clock.now,
        logger: h.app.logger,
        intervalMs: 0,
        ephemeralRemoveAfterMs: 60_000,
        ownership: monitorOwnership(store, () => 'node-a'),
      })
      h.clock.advance(10 * 60_000)
      const report = await monitor.tick()
      expect(report.ended.map((e) => e.id)).toEqual([mine])
      expect((await h.app.store.get(theirs))?.status).toBe('active')
    } finally {
      await h.close()
    }
  })
})
