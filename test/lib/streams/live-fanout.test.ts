import { mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest, type ClientRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'
import { type LiveEvent, LiveHub } from '../../../src/lib/streams/live'
import { silentLogger as silent } from '../../../src/lib/common/logger'

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Stages and publishes one single-row batch, as a group commit of one append does. */
function commit(hub: LiveHub, seq: number, row: string): void {
  hub.stage(1, { seq, pos: seq }, { seq: seq + 1, pos: seq + 1 }, { row: Buffer.from(row) })
  hub.publish()
}

describe('sliced live fan-out (LiveHub)', () => {
  it('hands 2,000 subscribers every batch once, in order, a slice per turn, and merges batches for those still behind', async () => {
    const hub = new LiveHub(silent, { sliceSize: 100 })
    const got: string[][] = Array.from({ length: 2_000 }, () => [])
    const events = new Array<number>(2_000).fill(0)
    const merged = new Set<LiveEvent>()
    for (let i = 0; i < got.length; i++) {
      hub.subscribe(1, (ev) => {
        events[i]!++
        if (ev.rows.length > 1) merged.add(ev)
        for (const row of ev.rows) got[i]!.push(row.toString())
      })
    }
    commit(hub, 0, 'a')
    await turn()
    // One slice, not the whole fan-out, ran in that turn.
    expect(got.filter((g) => g.length > 0)).toHaveLength(100)
    commit(hub, 1, 'b')
    commit(hub, 2, 'c')
    while (got.some((g) => g.length < 3)) await turn()
    for (const g of got) expect(g).toEqual(['a', 'b', 'c'])
    // The first slice got 'a' alone, then 'b'+'c' as one event; the rest got all three as one.
    expect(events.slice(0, 100).every((n) => n === 2)).toBe(true)
    expect(events.slice(100).every((n) => n === 1)).toBe(true)
    // Merged events are shared by every subscriber starting at the same batch: two merges in all.
    expect(merged.size).toBe(2)
    await turn()
    expect(events.reduce((a, b) => a + b, 0)).toBe(100 * 2 + 1_900)
  })

  it('lets a writer step that queued behind the publish run before a big fan-out ends', async () => {
    const hub = new LiveHub(silent, { sliceSize: 256 })
    const log: string[] = []
    for (let i = 0; i < 2_000; i++) hub.subscribe(1, () => log.push('deliver'))
    commit(hub, 0, 'a')
    // What the write queue does after a commit: its next flush and the acknowledgements are a
    // setImmediate away. Before slicing, all 2,000 deliveries ran first.
    setImmediate(() => log.push('ack'))
    while (log.filter((e) => e === 'deliver').length < 2_000) await turn()
    const ack = log.indexOf('ack')
    expect(ack).toBeGreaterThan(0)
    expect(ack).toBeLessThan(log.lastIndexOf('deliver'))
  })

  it('a subscriber that leaves mid-fan-out gets nothing more; one that joins mid-fan-out drops what it already has', async () => {
    const hub = new LiveHub(silent, { sliceSize: 10 })
    const first: string[] = []
    let unsubscribeFirst = () => {}
    for (let i = 0; i < 50; i++) hub.subscribe(1, () => {})
    // Last in the sweep, so it is still waiting when it leaves.
    unsubscribeFirst = hub.subscribe(1, (ev) => first.push(...ev.rows.map(String)))
    commit(hub, 0, 'a')
    await turn()
    unsubscribeFirst()
    const late: Array<{ prevSeq: number; rows: string[] }> = []
    hub.subscribe(1, (ev) => late.push({ prevSeq: ev.prev.seq, rows: ev.rows.map(String) }))
    commit(hub, 1, 'b')
    for (let i = 0; i < 20; i++) await turn()
    expect(first).toEqual([])
    // It joined while 'a' was still being handed out: it gets it with prev 0, which a reader that
    // already read 'a' from SQLite recognises as old (SseSession compares prev with its position).
    expect(late).toEqual([{ prevSeq: 0, rows: ['a', 'b'] }])
    expect(hub.hasSubscribers(1)).toBe(true)
  })

  it('tells once of each stream whose last reader left, also with a batch still queued for it', async () => {
    const hub = new LiveHub(silent, { sliceSize: 1 })
    const idle: number[] = []
    hub.onStreamIdle((id) => idle.push(id))
    const leaveA = hub.subscribe(1, () => {})
    const leaveB = hub.subscribe(1, () => {})
    const leaveOther = hub.subscribe(2, () => {})
    leaveA()
    expect(idle).toEqual([]) // one reader is still there
    commit(hub, 0, 'a')
    leaveB() // 'a' may still be queued for it: the fan-out goes now or when its sweep ends
    for (let i = 0; i < 5; i++) await turn()
    expect(idle).toEqual([1])
    expect(hub.hasSubscribers(1)).toBe(false)
    leaveOther()
    expect(idle).toEqual([1, 2])
  })
})

let server: StreamsHttpServer
let dir: string
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-fanout-'))
  server = await startStreamsHttpServer({ file: join(dir, 's.db') })
})
afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A real SSE reader on its own connection: resolves with the JSON messages once `count` arrived. */
function readMessages(url: URL, count: number, onOpen: () => void): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const messages: number[] = []
    let text = ''
    const req: ClientRequest = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, agent: false },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`))
        onOpen()
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
          let end: number
          while ((end = text.indexOf('\n\n')) >= 0) {
            const block = text.slice(0, end)
            text = text.slice(end + 2)
            if (!block.startsWith('event: data')) continue
            for (const m of JSON.parse(block.slice(block.indexOf('data:') + 5)) as Array<{ n: number }>) messages.push(m.n)
          }
          if (messages.length >= count) {
            req.destroy()
            resolve(messages)
          }
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.end()
  })
}

describe('sliced live fan-out over real SSE connections', () => {
  it('2,000 readers on one stream each get every message exactly once and in order', async () => {
    const url = `${server.url}/v1/stream/fanout-${Date.now()}`
    await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' } })
    const readers = 2_000
    const total = 60
    let open = 0
    const results: Array<Promise<number[]>> = []
    // Connect in batches so the listen backlog is never overrun.
    for (let i = 0; i < readers; i++) {
      results.push(readMessages(new URL(`${url}?offset=-1&live=sse`), total, () => open++))
      if (i % 200 === 199) while (open < i + 1) await new Promise((r) => setTimeout(r, 10))
    }
    while (open < readers) await new Promise((r) => setTimeout(r, 10))
    // Bursts of concurrent appends, the next burst while the last one's fan-out is still going.
    const acks: Array<Promise<Response>> = []
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < 10; i++) {
        const n = burst * 10 + i
        acks.push(
          fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) }),
        )
      }
      await (acks.at(-1) as Promise<Response>)
    }
    for (const res of await Promise.all(acks)) expect(res.status).toBe(204)
    // Concurrent appends commit in arrival order; the stream's own order is the reference.
    const expected = ((await (await fetch(url)).json()) as Array<{ n: number }>).map((m) => m.n)
    expect([...expected].sort((a, b) => a - b)).toEqual(Array.from({ length: total }, (_, n) => n))
    const all = await Promise.all(results)
    for (const got of all) expect(got).toEqual(expected)
  }, 120_000)
})
