/**
 * Bar 2 of issue 2: a child-process server takes thousands of concurrent appends (sequential
 * plain writers and pipelined idempotent producers), is killed with SIGKILL mid-load, and
 * restarts on the same SQLite file. Every acknowledged append must be there exactly once, in
 * order, with no torn request and no unacknowledged byte inside a message; retrying producer
 * requests after the restart must not duplicate anything.
 *
 * Runs against our server in both durability modes. DURABILITY_SERVER=reference runs the same
 * checks against the file-backed reference server instead (used to validate the test itself).
 */
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launches, makeDataDir, removeDataDir, startServer, type RunningServer, type ServerKind } from '../../bench/servers'
import { checkStream, readAll } from './verify'
import { JSON_TYPE, producerHeaders, Workload, type Source } from './workload'

const kinds: ServerKind[] = process.env.DURABILITY_SERVER === 'reference' ? ['ref-file'] : ['ours-normal', 'ours-fsync', 'ours-postgres']
const ACKS_BEFORE_KILL = 3000

const shape = {
  plainStreams: ['plain-0', 'plain-1', 'plain-2', 'plain-3'],
  writersPerPlainStream: 6,
  producerStreams: ['prod-0', 'prod-1', 'prod-2', 'prod-3'],
  producersPerStream: 2,
  producerWindow: 8,
}
const allStreams = [...shape.plainStreams, ...shape.producerStreams]

async function readAndCheck(server: RunningServer, sources: Source[]) {
  const pool = new Pool(server.origin, { connections: 4 })
  const violations: string[] = []
  const present = new Map<string, number>()
  const contents = new Map<string, unknown[]>()
  try {
    for (const stream of allStreams) {
      const read = await readAll(pool, server.streamPath(stream))
      const check = checkStream(
        stream,
        read.messages,
        sources.filter((s) => s.stream === stream),
      )
      violations.push(...read.violations, ...check.violations)
      for (const [id, n] of check.presentBySource) present.set(id, n)
      contents.set(stream, read.messages)
    }
  } finally {
    await pool.destroy()
  }
  return { violations, present, contents }
}

describe.each(kinds)('%s killed with SIGKILL under load', (kind) => {
  const dataDir = makeDataDir('tether-durability-')
  let server: RunningServer | undefined
  let workload: Workload
  let inFlightAtKill = 0
  let ackedAtKill = 0
  let afterRestart: Awaited<ReturnType<typeof readAndCheck>>

  beforeAll(async () => {
    server = await startServer(launches[kind], { dataDir })
    const setup = new Pool(server.origin, { connections: 4 })
    for (const stream of allStreams) {
      const res = await setup.request({ path: server.streamPath(stream), method: 'PUT', headers: { 'content-type': JSON_TYPE } })
      await res.body.dump()
      if (res.statusCode !== 201) throw new Error(`PUT ${stream}: HTTP ${res.statusCode}`)
    }
    await setup.destroy()

    workload = new Workload(server.origin, server.streamPath, shape)
    workload.start()
    while (workload.ackedRequests < ACKS_BEFORE_KILL && workload.unexpected.length === 0) {
      if (server.child.exitCode !== null) throw new Error(`server died under load:\n${server.outputTail()}`)
      await new Promise((r) => setTimeout(r, 5))
    }
    ackedAtKill = workload.ackedRequests
    await server.kill()
    workload.halt()
    await workload.finished()
    // Requests that never got a response were in flight when the server died.
    inFlightAtKill = workload.inFlight()

    server = await startServer(launches[kind], { dataDir })
    afterRestart = await readAndCheck(server, workload.sources)
  })

  afterAll(async () => {
    await server?.stop()
    removeDataDir(dataDir)
  })

  it('was killed mid-load: thousands acknowledged, requests in flight, no error before the kill', () => {
    expect(workload.unexpected).toEqual([])
    expect(ackedAtKill).toBeGreaterThanOrEqual(ACKS_BEFORE_KILL)
    expect(inFlightAtKill).toBeGreaterThan(0)
  })

  it('has every acknowledged append exactly once, intact, untorn and in per-writer order after restart', () => {
    expect(afterRestart.violations).toEqual([])
    for (const source of workload.sources) {
      const acked = source.sent.filter((r) => r.acked).length
      expect(afterRestart.present.get(source.id), source.id).toBeGreaterThanOrEqual(acked)
    }
  })

  it('answers producer retries after restart with 204 for committed seqs and 200 for the rest, without duplicates', async () => {
    const running = server!
    const pool = new Pool(running.origin, { connections: 8 })
    const mismatches: string[] = []
    const producers = workload.sources.filter((s) => s.kind === 'producer')
    await Promise.all(
      producers.map(async (source) => {
        const committed = afterRestart.present.get(source.id) ?? 0
        for (const r of source.sent) {
          const res = await pool.request({ path: running.streamPath(r.stream), method: 'POST', headers: producerHeaders(r), body: r.body })
          await res.body.dump()
          const expected = r.seq < committed ? 204 : 200
          if (res.statusCode !== expected) mismatches.push(`${r.source}/${r.seq}: HTTP ${res.statusCode}, expected ${expected}`)
          else r.acked = true
        }
      }),
    )
    await pool.destroy()

    const again = await readAndCheck(running, workload.sources)
    expect({ mismatches, violations: again.violations }).toEqual({ mismatches: [], violations: [] })
    for (const source of producers) expect(again.present.get(source.id), source.id).toBe(source.sent.length)
    for (const stream of shape.plainStreams) expect(again.contents.get(stream)).toEqual(afterRestart.contents.get(stream))
  })

  it('still fences a producer at a lower epoch after restart (epoch state survived)', async () => {
    const running = server!
    const epochOne = workload.sources.find((s) => s.kind === 'producer' && s.epoch === 1)!
    const pool = new Pool(running.origin, { connections: 1 })
    const res = await pool.request({
      path: running.streamPath(epochOne.stream),
      method: 'POST',
      headers: producerHeaders({ source: epochOne.id, epoch: 0, seq: 0 }),
      body: JSON.stringify({ id: 'zombie' }),
    })
    await res.body.dump()
    await pool.destroy()
    expect(res.statusCode).toBe(403)
    expect(res.headers['producer-epoch']).toBe('1')
  })
})
