/**
 * `tsx bench/ab-writes.ts <sequential|writers32|streams1000> --a a.mjs --b b.mjs [--rounds 10] [--seconds 1]
 *    [--server-b ref-memory] [--b-node-args=--max-semi-space-size=8]`
 *
 * Back-to-back A/B of two builds of our streams server (or one against a reference kind) on a
 * shared, noisy box: both servers run at once (own processes, own data dirs) and take turns in
 * short rounds (order alternating), so a slow minute hits both sides. Prints per-round ops/s and
 * server CPU (user + sys from /proc) per append, and the medians; the per-round ratio's median is
 * the number to quote. Never used as a test assertion.
 */
import { parseArgs } from 'node:util'
import type { Pool } from 'undici'
import { append, createStreams, makePool } from './http'
import { makeMessage } from './messages'
import { cpuSecondsOf } from './proc'
import { launches, makeDataDir, removeDataDir, startServer, type RunningServer, type ServerKind } from './servers'
import { median, now, percentile, Samples } from './stats'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    'server-b': { type: 'string' },
    // More node flags for side B only (after the streams:prod ones, so a repeated V8 flag wins).
    'b-node-args': { type: 'string' },
    rounds: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '1' },
  },
})
const pattern = positionals[0] ?? 'sequential'
const writers = pattern === 'sequential' ? 1 : 32
const streamCount = pattern === 'streams1000' ? 1000 : writers

interface Side {
  name: string
  server: RunningServer
  dataDir: string
  pool: Pool
  paths: string[]
  ops: number[]
  cpu: number[]
  p99: number[]
}

async function start(name: string, kind: ServerKind, bundle: string | undefined, nodeArgs: string[] = []): Promise<Side> {
  const dataDir = makeDataDir()
  const launch = { ...launches[kind], bundle: bundle ?? launches[kind].bundle, nodeArgs: [...(launches[kind].nodeArgs ?? []), ...nodeArgs] }
  const server = await startServer(launch, { dataDir, runner: 'compiled' })
  const pool = makePool(server.origin, writers)
  const paths = await createStreams(pool, server.streamPath, 'ab', streamCount)
  return { name, server, dataDir, pool, paths, ops: [], cpu: [], p99: [] }
}

async function round(side: Side, ms: number): Promise<void> {
  const cpu0 = cpuSecondsOf(side.server.pid)
  const lat = new Samples()
  let n = 0
  const t0 = now()
  const end = t0 + ms
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let s = 0; now() < end; s++) {
        const path = pattern === 'streams1000' ? side.paths[Math.floor(Math.random() * side.paths.length)]! : side.paths[w]!
        const t = now()
        const r = await append(side.pool, path, makeMessage(w, s, t))
        lat.push(now() - t)
        if (r.status >= 300) throw new Error(`${side.name}: HTTP ${r.status}`)
        n++
      }
    }),
  )
  const secs = (now() - t0) / 1000
  side.ops.push(n / secs)
  side.cpu.push(((cpuSecondsOf(side.server.pid) - cpu0) * 1e6) / n)
  side.p99.push(percentile(lat.values(), 99))
}

const a = await start('A', 'ours-normal', values.a)
const bNodeArgs = values['b-node-args']?.split(' ').filter(Boolean) ?? []
const b = await start('B', (values['server-b'] as ServerKind | undefined) ?? 'ours-normal', values.b, bNodeArgs)
try {
  const ms = Number(values.seconds) * 1000
  await round(a, 300)
  await round(b, 300)
  a.ops.length = b.ops.length = a.cpu.length = b.cpu.length = a.p99.length = b.p99.length = 0
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const side of r % 2 === 0 ? [a, b] : [b, a]) await round(side, ms)
  }
} finally {
  for (const side of [a, b]) {
    await side.pool.close()
    await side.server.stop()
    removeDataDir(side.dataDir)
  }
}
const f = (x: number) => x.toFixed(0)
console.log(
  `${pattern}: A=${values.a ?? 'dist/streams (current)'} B=${values.b ?? values['server-b'] ?? 'dist/streams (current)'}${bNodeArgs.length ? ` with ${bNodeArgs.join(' ')}` : ''}`,
)
console.log('round | A ops/s | B ops/s | B÷A | A µs CPU/append | B µs CPU/append | A p99 ms | B p99 ms')
const ratios = a.ops.map((x, i) => b.ops[i]! / x)
for (let i = 0; i < a.ops.length; i++)
  console.log(
    `${i + 1} | ${f(a.ops[i]!)} | ${f(b.ops[i]!)} | ${ratios[i]!.toFixed(2)} | ${f(a.cpu[i]!)} | ${f(b.cpu[i]!)} | ${a.p99[i]!.toFixed(2)} | ${b.p99[i]!.toFixed(2)}`,
  )
console.log(
  `median | ${f(median(a.ops))} | ${f(median(b.ops))} | ${median(ratios).toFixed(2)} | ${f(median(a.cpu))} | ${f(median(b.cpu))} | ${median(a.p99).toFixed(2)} | ${median(b.p99).toFixed(2)}`,
)
