/**
 * The streams layer's compaction executor: delete-only plus in-place rewrites, every kept
 * message at its offset, reads from any offset (also of a removed row), the tail across a
 * restart, forks. On both engines: a real SQLite file, and a fresh PostgreSQL database (where
 * "a restart" is another node opening the same database). Through the protocol handler.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createStreamsServer } from '../../../src/lib/streams'
import type { StoredEvent, StreamCompaction } from '../../../src/lib/streams/compaction'
import { createPgStreamsServer } from '../../../src/lib/streams/pg/pg-streams-server'
import { freshDatabase, type TestDatabase } from '../../support/postgres'

/** A streams server of either engine, as these tests use it. */
interface Node {
  handle(req: Request): Promise<Response>
  compactor: StreamCompaction
  /** The stream's last-access time and deadline, as stored. */
  expiry(path: string): Promise<unknown>
  close(): void | Promise<void>
}
interface Engine {
  /** A new, empty store: a SQLite file or a PostgreSQL database. */
  fresh(): Promise<string>
  open(where: string): Promise<Node>
}

const databases: TestDatabase[] = []
afterAll(async () => {
  for (const d of databases) await d.drop()
})

const engines: [string, Engine][] = [
  [
    'sqlite',
    {
      fresh: async () => join(mkdtempSync(join(tmpdir(), 'tether-compaction-')), 'streams.db'),
      open: async (file) => {
        const s = createStreamsServer({ basePath: '/s', sweepIntervalMs: 0, file })
        const expiry = s.sqlite.prepare(`SELECT last_access_at AS at, deadline_at AS deadline FROM streams WHERE path = ?`)
        return { handle: s.handle, compactor: s.compactor, expiry: async (path) => expiry.get(path), close: () => s.close() }
      },
    },
  ],
  [
    'postgres',
    {
      fresh: async () => {
        const db = await freshDatabase()
        databases.push(db)
        return db.url
      },
      open: async (url) => {
        const s = await createPgStreamsServer({ url, basePath: '/s', sweepIntervalMs: 0, subscriptions: false })
        return {
          handle: s.handle,
          compactor: s.compactor,
          expiry: async (path) => (await s.pg.sql`SELECT last_access_at AS at, deadline_at AS deadline FROM streams WHERE path = ${path}`)[0],
          close: () => s.close(),
        }
      },
    },
  ],
]

const req = (path: string, init?: RequestInit) => new Request(`http://local/s/${path}`, init)
const JSON_TYPE = { 'content-type': 'application/json' }

/** A JSON stream of ten appends; append n holds {n, i} for i < 2 (two messages each). */
async function tenAppends(s: Node, path = 'log'): Promise<string[]> {
  await s.handle(req(path, { method: 'PUT', headers: JSON_TYPE }))
  const offsets: string[] = []
  for (let n = 1; n <= 10; n++) {
    const res = await s.handle(req(path, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify([{ n, i: 0 }, { n, i: 1 }]) }))
    offsets.push(res.headers.get('stream-next-offset')!)
  }
  return offsets
}
const read = async (s: Node, path: string, offset = '-1') => {
  const res = await s.handle(req(`${path}?offset=${encodeURIComponent(offset)}`))
  return { status: res.status, body: (await res.json()) as Array<{ n: number; i: number; folded?: boolean }>, next: res.headers.get('stream-next-offset') }
}
/** Drops appends 3..5 and the last one, and rewrites append 6 to its second message only (marked folded). */
const planner = (events: StoredEvent[]) => {
  const drop = new Set<string>()
  const replace = new Map<string, unknown>()
  for (const e of events) {
    const { n, i } = e.event as { n: number; i: number }
    if ((n >= 3 && n <= 5) || n === 10) drop.add(`${e.seq}:${e.index}`)
    if (n === 6 && i === 0) drop.add(`${e.seq}:${e.index}`)
    if (n === 6 && i === 1) replace.set(`${e.seq}:${e.index}`, { n, i, folded: true })
  }
  return { drop, replace }
}

describe.each(engines)('stream compaction executor on %s', (_name, engine) => {
  let servers: Node[] = []
  afterEach(async () => {
    for (const s of servers) await s.close()
    servers = []
  })
  const open = async (where?: string) => {
    const s = await engine.open(where ?? (await engine.fresh()))
    servers.push(s)
    return s
  }

  it('removes and rewrites rows in place: a read from every offset gets exactly the kept messages after it', async () => {
    const s = await open()
    const offsets = await tenAppends(s)
    const was = await s.expiry('log')
    const result = await s.compactor.compact('log', planner)
    // Compaction is not activity: the expiry clock neither moves nor is cut.
    expect(await s.expiry('log')).toEqual(was)
    expect(result.before.events).toBe(20)
    expect(result.after.events).toBe(11)
    expect(result.after.bytes).toBeLessThan(result.before.bytes)
    expect(result.rowsDeleted).toBe(4)
    expect(result.rowsRewritten).toBe(1)
    const kept = (await read(s, 'log')).body
    expect(kept.map((m) => `${m.n}.${m.i}`)).toEqual(['1.0', '1.1', '2.0', '2.1', '6.1', '7.0', '7.1', '8.0', '8.1', '9.0', '9.1'])
    expect(kept.find((m) => m.n === 6)?.folded).toBe(true)
    for (const [k, offset] of offsets.entries()) {
      const after = await read(s, 'log', offset)
      expect(after.status).toBe(200)
      expect(after.body).toEqual(kept.filter((m) => m.n > k + 1))
      expect(after.next).toBe(offsets[9])
    }
  })

  it('serves SSE from the offset of a removed row: the kept messages after it, then the live tail', async () => {
    const s = await open()
    const offsets = await tenAppends(s)
    await s.compactor.compact('log', planner)
    const res = await s.handle(req(`log?offset=${encodeURIComponent(offsets[3]!)}&live=sse`))
    const reader = res.body!.getReader()
    let text = ''
    const until = async (marker: RegExp) => {
      while (!marker.test(text)) {
        const { value, done } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
    }
    await until(/event: control/)
    await s.handle(req('log', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ n: 11, i: 0 }) }))
    await until(/"n":11/)
    await reader.cancel()
    const data = [...text.matchAll(/event: data\ndata:(.*)/g)].flatMap((m) => JSON.parse(m[1]!) as Array<{ n: number; i: number }>)
    expect(data.map((m) => `${m.n}.${m.i}`)).toEqual(['6.1', '7.0', '7.1', '8.0', '8.1', '9.0', '9.1', '11.0'])
  })

  it('keeps the tail when the last row is removed, across a restart, and appends continue after it', async () => {
    const where = await engine.fresh()
    const first = await open(where)
    const offsets = await tenAppends(first)
    await first.compactor.compact('log', planner)
    await first.close()
    servers = []
    const s = await open(where)
    const head = await s.handle(req('log', { method: 'HEAD' }))
    expect(head.headers.get('stream-next-offset')).toBe(offsets[9])
    const res = await s.handle(req('log', { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ n: 11, i: 0 }) }))
    expect(res.headers.get('stream-next-offset')! > offsets[9]!).toBe(true)
    expect((await read(s, 'log', offsets[9])).body).toEqual([{ n: 11, i: 0 }])
  })

  it('never touches rows a fork inherits, and forks at the offset of a removed row', async () => {
    const s = await open()
    const offsets = await tenAppends(s)
    const early = await s.handle(req('early', { method: 'PUT', headers: { 'stream-forked-from': '/s/log', 'stream-fork-offset': offsets[4]! } }))
    expect(early.status).toBe(201)
    const result = await s.compactor.compact('log', planner)
    // Appends 1..5 are the fork's: only 6 and 10 change.
    expect(result.rowsDeleted + result.rowsRewritten).toBe(2)
    expect((await read(s, 'early')).body.map((m) => m.n)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5])

    const t = await open()
    const o = await tenAppends(t)
    await t.compactor.compact('log', planner)
    const late = await t.handle(req('late', { method: 'PUT', headers: { 'stream-forked-from': '/s/log', 'stream-fork-offset': o[3]! } }))
    expect(late.status).toBe(201)
    expect((await read(t, 'late')).body.map((m) => m.n)).toEqual([1, 1, 2, 2])
    const sub = await t.handle(
      req('sub', { method: 'PUT', headers: { 'stream-forked-from': '/s/log', 'stream-fork-offset': o[2]!, 'stream-fork-sub-offset': '1' } }),
    )
    expect(sub.status).toBe(400)
    expect(await sub.text()).toMatch(/compaction/)
  })

  it('refuses byte streams and reports a missing stream', async () => {
    const s = await open()
    await s.handle(req('bytes', { method: 'PUT', headers: { 'content-type': 'text/plain' } }))
    await expect(s.compactor.compact('bytes', planner)).rejects.toMatchObject({ status: 400, code: 'NOT_JSON_STREAM' })
    await expect(s.compactor.compact('nope', planner)).rejects.toMatchObject({ status: 404 })
  })
})
