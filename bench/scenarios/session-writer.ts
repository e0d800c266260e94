/**
 * The session event writer (`POST /api/streams?sessionId=<id>`): validated, authorized,
 * idempotent State Protocol appends through the whole Tether app (createTetherServer served by
 * srvx, auth on, real HTTP on loopback). The benchmark row runs the app in a child process
 * (bench/session-writer-app.ts) like the bare server rows; `--in-process` (and the tracing
 * scenario) run it in this process, sharing the load generator's event loop.
 *   - sequential single-event writes on one connection: ops/s and p99 latency;
 *   - 8 concurrent writers on one session, 10-event batches: events/s.
 * On `ours-normal` the app uses its built-in SQLite streams server; on `ref-memory` the
 * benchmark's reference server child process is the app's external backend (TETHER_STREAMS_URL).
 *
 *   tsx bench/scenarios/session-writer.ts [--external <streams base url>] [--quick] [--in-process]
 *     [--cpu-prof <dir>]   (profile of the app process)
 */
import { execFileSync, spawn } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Pool } from 'undici'
import { makePool } from '../http'
import { cpuSecondsOf } from '../proc'
import { prodNodeArgs, repoRoot } from '../servers'
import { now, percentile, Samples } from '../stats'
import type { Scenario } from './types'

export interface SessionWriterResult {
  seqOps: number
  seqP99: number
  batchEvents: number
}

import { metricsOn, startApp } from '../session-writer-start'

export { metricsOn, startApp }

export async function post(pool: Pool, path: string, token: string, body: unknown): Promise<string> {
  const res = await pool.request({
    path,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`POST ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`)
  return text
}

export async function createSession(pool: Pool, token: string): Promise<string> {
  const text = await post(pool, '/api/sessions', token, { pattern: 'long-running' })
  return (JSON.parse(text) as { session: { id: string } }).session.id
}

export const chunk = (messageId: string, seq: number) => ({
  channel: 'chunk',
  data: { messageId, role: 'user', author: 'bench-user', turn: 0, seq, delta: 'x'.repeat(100) },
})

const appBundle = join(repoRoot, 'dist/bench/session-writer-app.mjs')
let appBundleBuilt = false

/**
 * bench/session-writer-app.ts compiled like the bare server rows' bundles (esbuild, plain node),
 * once per benchmark process. Production runs the app compiled too (vite build); under tsx every
 * function built per request also gets tsx's `__name` wrapper (~9 µs per write in the profile).
 */
function buildAppBundle(): string {
  if (appBundleBuilt) return appBundle
  const esbuild = join(repoRoot, 'node_modules/.bin/esbuild')
  const flags = ['--bundle', '--platform=node', '--format=esm', '--packages=external', `--outfile=${appBundle}`, '--log-level=warning']
  execFileSync(esbuild, [join(repoRoot, 'bench/session-writer-app.ts'), ...flags], { cwd: repoRoot, stdio: 'inherit' })
  appBundleBuilt = true
  return appBundle
}

/**
 * The app in a child process (bench/session-writer-app.ts, compiled, with the streams:prod node
 * flags), like the bare server rows: its event loop is not shared with the load generator.
 * `nodeArgs` adds flags (e.g. --cpu-prof); BENCH_APP_TSX=1 runs the sources under tsx instead.
 */
export async function startAppProcess(streamsUrl: string | undefined, nodeArgs: string[] = []) {
  const entry = process.env.BENCH_APP_TSX === '1' ? ['--import', 'tsx', join(repoRoot, 'bench/session-writer-app.ts')] : [buildAppBundle()]
  const child = spawn(process.execPath, [...prodNodeArgs(), ...nodeArgs, ...entry], {
    cwd: repoRoot,
    env: { ...process.env, NODE_ENV: 'production', BENCH_STREAMS_URL: streamsUrl ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (c: Buffer) => {
    err = (err + c.toString('utf8')).slice(-4000)
  })
  const exited = new Promise<void>((res) => child.once('exit', () => res()))
  const line = await new Promise<string>((res, rej) => {
    let out = ''
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8')
      const nl = out.indexOf('\n')
      if (nl >= 0) res(out.slice(0, nl))
    })
    void exited.then(() => rej(new Error(`session writer app exited before it was ready:\n${err}`)))
  })
  const ready = JSON.parse(line) as { origin: string; token: string; pid: number }
  return {
    ...ready,
    async close() {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

export async function measureSessionWriter(opts: {
  streamsUrl?: string
  quick?: boolean
  log?: (m: string) => void
  /** Run the app in its own process (the benchmark row) instead of this one (tracing-cost needs it here). */
  appProcess?: boolean
  nodeArgs?: string[]
  /** Each phase's length (default 3 s, 1 s quick). */
  durationMs?: number
}): Promise<SessionWriterResult> {
  const app = opts.appProcess ? await startAppProcess(opts.streamsUrl, opts.nodeArgs) : await startApp(opts.streamsUrl)
  const durationMs = opts.durationMs ?? (opts.quick ? 1_000 : 3_000)
  try {
    // Sequential single-event writes on one connection.
    const one = makePool(app.origin, 1)
    const sid = await createSession(one, app.token)
    const writerPath = `/api/streams?sessionId=${sid}`
    for (let i = 0; i < 200; i++) await post(one, writerPath, app.token, chunk('warm', i))
    const latencies = new Samples()
    let s = 0
    // The app's own CPU per sequential write, when it runs in its own process.
    const pid = 'pid' in app ? (app.pid as number) : undefined
    const cpu0 = pid ? cpuSecondsOf(pid) : 0
    const start = now()
    while (now() - start < durationMs) {
      const t0 = now()
      await post(one, writerPath, app.token, chunk('seq', s++))
      latencies.push(now() - t0)
    }
    const seqOps = latencies.length / ((now() - start) / 1000)
    if (pid) opts.log?.(`app CPU per sequential write: ${(((cpuSecondsOf(pid) - cpu0) * 1e6) / latencies.length).toFixed(0)} µs`)
    const seqP99 = percentile(latencies.values(), 99)
    await one.close()

    // 8 concurrent writers, 10-event batches, one session.
    const writers = 8
    const batch = 10
    const pool = makePool(app.origin, writers)
    const sid2 = await createSession(pool, app.token)
    const path2 = `/api/streams?sessionId=${sid2}`
    let events = 0
    const start2 = now()
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        let n = 0
        while (now() - start2 < durationMs) {
          const body = Array.from({ length: batch }, (_, i) => chunk(`w${w}-${n}`, i))
          n++
          await post(pool, path2, app.token, body)
          events += batch
        }
      }),
    )
    const batchEvents = events / ((now() - start2) / 1000)
    await pool.close()
    return { seqOps, seqP99, batchEvents }
  } finally {
    await app.close()
  }
}

export const sessionWriter: Scenario = {
  id: 'session-writer',
  title: `session writer POST /api/streams?sessionId= (whole app, auth on, metrics ${metricsOn() ? 'on' : 'off'}; ref = app on the reference server)`,
  repeats: 3,
  servers: ['ours-normal', 'ref-memory'],
  metrics: [
    { key: 'seqOps', label: 'seq 1-event ops/s', unit: 'ops/s', better: 'higher' },
    { key: 'seqP99', label: 'seq p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'batchEvents', label: '8×10-event events/s', unit: 'events/s', better: 'higher' },
  ],
  async run({ server, kind, quick, log }) {
    // ours-normal: the app's built-in streams server; ref-memory: that server as external backend.
    const streamsUrl = kind === 'ours-normal' ? undefined : server.streamUrl('').replace(/\/$/, '')
    const r = await measureSessionWriter({ streamsUrl, quick, log, appProcess: true })
    return { seqOps: r.seqOps, seqP99: r.seqP99, batchEvents: r.batchEvents }
  },
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const { values } = parseArgs({
    options: {
      external: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'in-process': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
    },
  })
  const r = await measureSessionWriter({
    streamsUrl: values.external,
    quick: values.quick,
    appProcess: !values['in-process'],
    log: (m) => console.error(m),
    nodeArgs: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [],
  })
  console.log(`seq ${r.seqOps.toFixed(0)} ops/s p99 ${r.seqP99.toFixed(2)} ms · 8x10 ${r.batchEvents.toFixed(0)} events/s`)
  process.exit(0)
}
