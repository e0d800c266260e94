/**
 * 10,000 SSE readers on one stream (issue #13): an open-loop writer appends single 200-byte
 * messages at 10/s; every reader must get every message, delivery p99 < 250 ms, server RSS
 * < 400 MiB with all readers attached.
 *
 * The readers live in READER_PROCS forked children (bench/sse-reader-proc.ts): 100k events/s is
 * more than one load generator process parses on this box without its own lag showing up as
 * latency. Each child reports its event-loop delay and CPU, logged with the result; when a
 * child's loop delay p99 is a sizeable part of the measured p99, the load generator, not the
 * server, was the limit. File descriptors: the server holds one socket per reader (10k of the
 * box's `ulimit -n` 20,000), each child 10k / READER_PROCS.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { append, createStream, makePool } from '../http'
import { makeMessage } from '../messages'
import { cpuSecondsOf, memoryOf } from '../proc'
import { repoRoot } from '../servers'
import type { ReaderResult, ReadyMessage } from '../sse-reader-proc'
import { now, percentile, sleep } from '../stats'
import type { Scenario } from './types'

const READER_PROCS = 2
const RATE = 10
const DRAIN_MS = 5_000
const MiB = 1024 * 1024
let run = 0

interface ReaderProc {
  child: ChildProcess
  ready: Promise<ReadyMessage>
  result: Promise<ReaderResult>
}

function startReaders(origin: string, path: string, count: number): ReaderProc {
  const child = fork(join(repoRoot, 'bench/sse-reader-proc.ts'), [origin, path, String(count)], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`SSE reader process exited (${code}) before it answered`))),
  )
  const next = <T>(type: string) =>
    Promise.race([
      new Promise<T>((resolve) => {
        const on = (msg: { type?: string }) => {
          if (msg.type !== type) return
          child.off('message', on)
          resolve(msg as T)
        }
        child.on('message', on)
      }),
      exited,
    ])
  const ready = next<ReadyMessage>('ready')
  const result = next<ReaderResult>('result')
  // Either may be left unawaited when the other fails.
  ready.catch(() => {})
  result.catch(() => {})
  return { child, ready, result }
}

export const sse10k: Scenario = {
  id: 'sse10k',
  title: `10,000 SSE readers on one stream, writer at ${RATE}/s (readers in ${READER_PROCS} processes)`,
  repeats: 1,
  servers: ['ours-normal', 'ref-memory'],
  metrics: [
    { key: 'deliveredPct', label: 'delivered', unit: '%', better: 'higher', target: { op: '>=', value: 100 }, digits: 2 },
    { key: 'p99', label: 'delivery p99', unit: 'ms', better: 'lower', target: { op: '<', value: 250 }, digits: 1 },
    { key: 'rss', label: 'server RSS with all readers', unit: 'MiB', better: 'lower', target: { op: '<', value: 400 } },
    // CPU, unlike latency, hardly depends on what else the shared box runs: the fan-out's cost.
    { key: 'cpuPerDelivery', label: 'server CPU per delivered message', unit: 'µs', better: 'lower', digits: 1 },
    { key: 'clientLoopP99', label: 'load generator (readers) event-loop delay p99, worst process', unit: 'ms', better: 'lower', digits: 1 },
  ],
  async run({ server, quick, log }) {
    const readers = quick ? 2_000 : 10_000
    const durationMs = quick ? 3_000 : 5_000
    const path = server.streamPath(`sse10k-${process.pid}-${run++}`)
    const writePool = makePool(server.origin, 4)
    await createStream(writePool, path)
    const idle = memoryOf(server.pid).rss
    const t0 = now()
    const procs = Array.from({ length: READER_PROCS }, (_, i) =>
      startReaders(server.origin, path, Math.floor(readers / READER_PROCS) + (i < readers % READER_PROCS ? 1 : 0)),
    )
    try {
      const ready = await Promise.all(procs.map((p) => p.ready))
      const connected = ready.reduce((n, r) => n + r.connected, 0)
      if (connected < readers)
        throw new Error(`only ${connected}/${readers} SSE readers connected: ${ready.find((r) => r.error)?.error ?? ''}`)
      const attached = memoryOf(server.pid).rss
      log(
        `${readers} readers connected in ${((now() - t0) / 1000).toFixed(1)} s; server RSS ${(idle / MiB).toFixed(0)} → ${(attached / MiB).toFixed(0)} MiB`,
      )
      await sleep(500)

      // Open-loop writer on the epoch clock, which the reader processes share.
      const total = Math.round((durationMs / 1000) * RATE)
      const serverCpu0 = cpuSecondsOf(server.pid)
      const start = now()
      let writeFailures = 0
      const sends: Promise<void>[] = []
      for (let i = 0; i < total; i++) {
        const wait = start + (i * 1000) / RATE - now()
        if (wait > 1) await sleep(wait)
        sends.push(
          append(writePool, path, makeMessage(0, i, performance.timeOrigin + now())).then(
            (r) => void (r.status >= 300 && writeFailures++),
            () => void writeFailures++,
          ),
        )
      }
      await Promise.allSettled(sends)
      let peakRss = memoryOf(server.pid).rss
      // The children count deliveries; give them the drain period, sampling the server's RSS.
      const drainEnd = now() + DRAIN_MS
      while (now() < drainEnd) {
        await sleep(250)
        peakRss = Math.max(peakRss, memoryOf(server.pid).rss)
      }
      for (const p of procs) p.child.send({ type: 'stop' })
      const results = await Promise.all(procs.map((p) => p.result))

      const expected = total * readers
      const delivered = results.reduce((n, r) => n + r.latencies.length, 0)
      const all = new Float64Array(Math.max(expected, delivered))
      let at = 0
      for (const r of results) {
        all.set(r.latencies, at)
        at += r.latencies.length
      }
      all.fill(Number.POSITIVE_INFINITY, at) // undelivered messages are infinitely late
      const wall = (now() - start) / 1000
      // Server CPU per delivered event: what one reader's frame costs, i.e. how many cores the
      // fan-out needs at this rate, whatever else the box is running.
      const serverCpu = cpuSecondsOf(server.pid) - serverCpu0
      log(
        `${delivered}/${expected} deliveries, writer failures ${writeFailures}, p50 ${percentile(all, 50).toFixed(1)} ms; ` +
          `server CPU ${serverCpu.toFixed(2)} s = ${((1e6 * serverCpu) / Math.max(1, delivered)).toFixed(1)} µs per delivery; ` +
          `reader processes: ${results.map((r) => `loop delay p99 ${r.loopDelayP99.toFixed(1)} ms, cpu ${((100 * r.cpuSeconds) / wall).toFixed(0)}%`).join('; ')}` +
          (results.some((r) => r.errors)
            ? `; reader errors ${results.reduce((n, r) => n + r.errors, 0)}: ${results.find((r) => r.errors)?.firstError}`
            : ''),
      )
      return {
        deliveredPct: (100 * delivered) / expected,
        p99: percentile(all, 99),
        rss: peakRss / MiB,
        cpuPerDelivery: (1e6 * serverCpu) / Math.max(1, delivered),
        clientLoopP99: Math.max(...results.map((r) => r.loopDelayP99)),
      }
    } finally {
      for (const p of procs) p.child.kill('SIGKILL')
      await writePool.destroy()
    }
  },
}
