/**
 * What /metrics costs (issue #12 bar 5), measured so a noisy shared machine hurts it least: two
 * apps in this process, one with metrics on and one with TETHER_METRICS=off, served over real
 * HTTP on loopback, take turns in short rounds (on/off, then off/on, …). Each round runs the same
 * sequential single appends (raw protocol appends through the app, and session writer events);
 * the table shows the median ops/s of each side and the cost in percent (off − on) ÷ off.
 * Slow minutes of the machine hit both sides alike instead of one whole run.
 */
import { createAppMetrics } from '../../src/lib/ops/metrics'
import { StreamMetrics } from '../../src/lib/ops/metrics-streams'
import { append, makePool } from '../http'
import { makeMessage } from '../messages'
import { median, now } from '../stats'
import { chunk, createSession, post, startApp } from './session-writer'
import type { Scenario } from './types'

type App = Awaited<ReturnType<typeof startApp>>

async function rawOps(app: App, path: string, n: number, seq: { s: number }): Promise<number> {
  const pool = makePool(app.origin, 1)
  const headers = { authorization: `Bearer ${app.token}` }
  try {
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const reply = await append(pool, path, makeMessage(0, seq.s++), headers)
      if (reply.status >= 300) throw new Error(`append: HTTP ${reply.status}`)
    }
    return n / ((now() - t0) / 1000)
  } finally {
    await pool.close()
  }
}

async function writerOps(app: App, sessionId: string, n: number, seq: { s: number }): Promise<number> {
  const pool = makePool(app.origin, 1)
  try {
    const t0 = now()
    for (let i = 0; i < n; i++) await post(pool, `/api/streams?sessionId=${sessionId}`, app.token, chunk('cost', seq.s++))
    return n / ((now() - t0) / 1000)
  } finally {
    await pool.close()
  }
}

/**
 * The instrumentation alone, CPU-bound and so far less noisy: nanoseconds the request wrapper and
 * the streams listener add per append (best of 5 alternating rounds of 100k calls each way).
 */
async function addedNanosPerAppend(): Promise<number> {
  const res = new Response(null, { status: 204 })
  const inner = (_req: Request) => Promise.resolve(res)
  const wrapped = createAppMetrics({}).serve(inner)
  const listener = new StreamMetrics()
  const req = new Request('http://127.0.0.1/api/streams/bench/x', { method: 'POST' })
  const n = 100_000
  const time = async (withMetrics: boolean) => {
    const t0 = now()
    for (let i = 0; i < n; i++) {
      if (withMetrics) {
        await wrapped(req)
        listener.onAppended('bench/x', '', 200)
        listener.onBatchCommitted(1)
      } else await inner(req)
    }
    return ((now() - t0) * 1e6) / n
  }
  let best = Number.POSITIVE_INFINITY
  for (let r = 0; r < 5; r++) {
    const off = await time(false)
    const on = await time(true)
    best = Math.min(best, on - off)
  }
  return best
}

export const metricsCost: Scenario = {
  id: 'metrics-cost',
  title: 'metrics on vs off (two apps in one process, alternating rounds of sequential single appends over HTTP)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'rawOn', label: 'raw append ops/s, metrics on', unit: 'ops/s', better: 'higher' },
    { key: 'rawOff', label: 'raw, metrics off', unit: 'ops/s', better: 'higher' },
    { key: 'rawCost', label: 'raw cost', unit: '%', better: 'lower', target: { op: '<', value: 3 }, digits: 1 },
    { key: 'writerOn', label: 'writer ops/s, metrics on', unit: 'ops/s', better: 'higher' },
    { key: 'writerOff', label: 'writer, metrics off', unit: 'ops/s', better: 'higher' },
    { key: 'writerCost', label: 'writer cost', unit: '%', better: 'lower', target: { op: '<', value: 3 }, digits: 1 },
    { key: 'addedNs', label: 'added per append (wrapper + listener)', unit: 'ns', better: 'lower', digits: 0 },
  ],
  async run({ quick, log }) {
    const rounds = quick ? 4 : 10
    const perRound = quick ? 100 : 200
    const sides = [
      { on: true, app: await startApp(undefined, true), raw: [] as number[], writer: [] as number[] },
      { on: false, app: await startApp(undefined, false), raw: [] as number[], writer: [] as number[] },
    ]
    try {
      const setup = await Promise.all(
        sides.map(async ({ app }) => {
          const pool = makePool(app.origin, 1)
          const path = `/api/streams/bench/metrics-cost-${process.pid}`
          const res = await pool.request({ path, method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${app.token}` } })
          await res.body.dump()
          const sessionId = await createSession(pool, app.token)
          await pool.close()
          return { path, sessionId, seq: { s: 0 } }
        }),
      )
      // Warm-up: JIT and SQLite caches on both sides before anything counts.
      for (const [i, { app }] of sides.entries()) {
        await rawOps(app, setup[i].path, 300, setup[i].seq)
        await writerOps(app, setup[i].sessionId, 300, setup[i].seq)
      }
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? [0, 1] : [1, 0]
        for (const i of order) {
          sides[i].raw.push(await rawOps(sides[i].app, setup[i].path, perRound, setup[i].seq))
          sides[i].writer.push(await writerOps(sides[i].app, setup[i].sessionId, perRound, setup[i].seq))
        }
      }
    } finally {
      for (const { app } of sides) await app.close()
    }
    const [on, off] = sides
    const v = {
      rawOn: median(on.raw),
      rawOff: median(off.raw),
      writerOn: median(on.writer),
      writerOff: median(off.writer),
    }
    log(`rounds: raw on ${on.raw.map(Math.round).join(' ')} / off ${off.raw.map(Math.round).join(' ')}`)
    return { ...v, addedNs: await addedNanosPerAppend(), rawCost: ((v.rawOff - v.rawOn) / v.rawOff) * 100, writerCost: ((v.writerOff - v.writerOn) / v.writerOff) * 100 }
  },
}
