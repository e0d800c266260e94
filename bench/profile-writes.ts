/**
 * `tsx bench/profile-writes.ts <sequential|writers32|streams1000|producer> [seconds] [--out dir] [--top n]
 *    [--server ours-normal|ref-memory|…] [--bundle other.mjs] [--no-prof]`
 *
 * CPU-profiles our bundled streams server (dist/streams, `npm run streams:build` first) under one
 * write pattern of the benchmark and prints the top functions by self time, so a change to the
 * write path can be judged by where the server's time goes rather than by noisy ops/s alone.
 * The server runs with the streams:prod node flags plus --cpu-prof; the profile is written when
 * it exits (SIGTERM → graceful close). Also printed: the server's CPU (user + sys from /proc) per
 * append, the number to compare in A/B runs (`--no-prof` leaves the profiler's own cost out).
 * `producer`: the producer row's load instead (IdempotentProducer, default batching, 200k
 * messages, repeated for the seconds given); per append then means per message, and the load
 * generator's own CPU per message is printed too (which side bounds the row).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { DurableStream, IdempotentProducer } from '@durable-streams/client'
import { append, createStream, createStreams, makePool } from './http'
import { makeMessage } from './messages'
import { now } from './stats'
import { launches, makeDataDir, removeDataDir, startServer } from './servers'
import { cpuSecondsOf } from './proc'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    out: { type: 'string' },
    top: { type: 'string' },
    server: { type: 'string' },
    bundle: { type: 'string' },
    'no-prof': { type: 'boolean' },
  },
})
const pattern = positionals[0] ?? 'sequential'
const seconds = Number(positionals[1] ?? 5)
const out = values.out ?? `/tmp/tether-prof-${pattern}-${Date.now()}`
mkdirSync(out, { recursive: true })

const dataDir = makeDataDir()
const kind = (values.server ?? 'ours-normal') as keyof typeof launches
const profFlags = values['no-prof'] ? [] : ['--cpu-prof', `--cpu-prof-dir=${out}`]
// --bundle: another build of our server (e.g. the previous commit's) for back-to-back A/B runs.
const launch = {
  ...launches[kind],
  bundle: values.bundle ?? launches[kind].bundle,
  nodeArgs: [...(launches[kind].nodeArgs ?? []), ...profFlags],
}
const server = await startServer(launch, { dataDir, runner: 'compiled' })
let ops = 0
let cpuUs = 0
let clientUs = 0
let elapsed = seconds
try {
  if (pattern === 'producer') {
    const end = now() + seconds * 1000
    const cpu0 = cpuSecondsOf(server.pid)
    const client0 = process.cpuUsage()
    const messages = Array.from({ length: 200_000 }, (_, i) => makeMessage(0, i))
    for (let r = 0; now() < end; r++) {
      const stream = await DurableStream.create({
        url: `${server.origin}${server.streamPath(`prod-${r}`)}`,
        contentType: 'application/json',
      })
      const producer = new IdempotentProducer(stream, `prof-${r}`, { onError: (e) => console.error(e) })
      for (const m of messages) producer.append(m)
      await producer.flush()
      await producer.detach()
      ops += messages.length
    }
    cpuUs = (cpuSecondsOf(server.pid) - cpu0) * 1e6
    const c = process.cpuUsage(client0)
    clientUs = c.user + c.system
    elapsed = (now() - end) / 1000 + seconds
  } else {
    const writers = pattern === 'sequential' ? 1 : 32
    const pool = makePool(server.origin, writers)
    const paths =
      pattern === 'streams1000'
        ? await createStreams(pool, server.streamPath, 'p', 1000)
        : await createStreams(pool, server.streamPath, 'p', writers)
    const end = now() + seconds * 1000
    const cpu0 = cpuSecondsOf(server.pid)
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        for (let s = 0; now() < end; s++) {
          const path = pattern === 'streams1000' ? paths[Math.floor(Math.random() * paths.length)]! : paths[w]!
          const r = await append(pool, path, makeMessage(w, s))
          if (r.status >= 300) throw new Error(`append: HTTP ${r.status}`)
          ops++
        }
      }),
    )
    cpuUs = (cpuSecondsOf(server.pid) - cpu0) * 1e6
    await pool.close()
    void createStream
  }
} finally {
  await server.stop()
  removeDataDir(dataDir)
}
console.log(
  `${pattern}: ${ops} appends in ${elapsed.toFixed(2)} s = ${Math.round(ops / elapsed)} ops/s; profile in ${out}; server CPU (user+sys, /proc) ${(cpuUs / Math.max(ops, 1)).toFixed(1)} µs per append`,
)
if (clientUs) console.log(`load generator CPU ${(clientUs / ops).toFixed(2)} µs per message (server ${(cpuUs / ops).toFixed(2)})`)

interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  hitCount?: number
  children?: number[]
}
if (values['no-prof']) process.exit(0)
const file = readdirSync(out).find((f) => f.endsWith('.cpuprofile'))
if (!file) throw new Error('no profile written')
const prof = JSON.parse(readFileSync(join(out, file), 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] }
const selfUs = new Map<number, number>()
for (let i = 0; i < prof.samples.length; i++) selfUs.set(prof.samples[i]!, (selfUs.get(prof.samples[i]!) ?? 0) + (prof.timeDeltas[i] ?? 0))
const byFn = new Map<string, number>()
let total = 0
for (const n of prof.nodes) {
  const us = selfUs.get(n.id) ?? 0
  total += us
  const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/')
  const key = `${n.callFrame.functionName || '(anon)'} ${url}:${n.callFrame.lineNumber + 1}`
  byFn.set(key, (byFn.get(key) ?? 0) + us)
}
const idle = [...byFn].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0)
const busy = total - idle
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s; per append ${(busy / Math.max(ops, 1)).toFixed(1)} µs`)
const top = Number(values.top ?? 35)
for (const [k, v] of [...byFn]
  .filter(([k]) => !k.startsWith('(idle)'))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`${((100 * v) / busy).toFixed(1).padStart(5)} %  ${(v / Math.max(ops, 1)).toFixed(1).padStart(6)} µs/op  ${k}`)
}
