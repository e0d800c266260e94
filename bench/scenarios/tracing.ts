/**
 * What OpenTelemetry traces cost the session writer (issue #12 bar 5): the session-writer
 * measurement (whole app in this process, auth on) with traces off, on (exported in batches to a
 * loopback OTLP/HTTP sink that answers 200), and on with an endpoint where nothing listens (the
 * exporter's posts fail). Modes alternate over rounds so a noisy machine hits each alike.
 * Traces off is the default; its own cost (request id + one boolean per span site) shows against
 * the commit before it in the `session-writer` and `sequential` rows, not here.
 *
 *   tsx bench/scenarios/tracing.ts [--quick]
 */
import { createServer } from 'node:http'
import { parseArgs } from 'node:util'
import { startTracing } from '../../src/lib/ops/tracing'
import { measureSessionWriter, type SessionWriterResult } from './session-writer'
import type { Scenario } from './types'

type Mode = 'off' | 'on' | 'dead'

async function sink(): Promise<{ url: string; spans: () => number; close(): Promise<void> }> {
  let posts = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      posts++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, spans: () => posts, close: () => new Promise((r) => server.close(() => r())) }
}

// 2 s phases: nine of them (three rounds of three modes) at the session writer's 3 s were a minute
// and a half of a full run, for a cost read from medians anyway.
const PHASE_MS = 2_000

async function once(mode: Mode, endpoint: string, quick: boolean): Promise<SessionWriterResult> {
  if (mode === 'off') return measureSessionWriter({ quick, durationMs: quick ? undefined : PHASE_MS })
  // Port 9 (discard) on loopback: nothing listens, every export fails fast.
  const tracing = await startTracing({ endpoint: mode === 'on' ? endpoint : 'http://127.0.0.1:9' })
  try {
    return await measureSessionWriter({ quick, durationMs: quick ? undefined : PHASE_MS })
  } finally {
    await tracing.stop().catch(() => {})
  }
}

// Two rounds, not three: each mode's phase pair starts an app, ~7 s a phase, and the third round
// was 21 s of a full run for a loss read as a per cent either way.
export async function measureTracing(quick: boolean, rounds = quick ? 1 : 2): Promise<Record<string, number>> {
  const otlp = await sink()
  const runs: Record<Mode, SessionWriterResult[]> = { off: [], on: [], dead: [] }
  try {
    for (let r = 0; r < rounds; r++) for (const mode of ['off', 'on', 'dead'] as const) runs[mode].push(await once(mode, otlp.url, quick))
  } finally {
    await otlp.close()
  }
  // With an even count, the mean of the middle two (two rounds: their mean, not the larger).
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b)
    const mid = Math.floor(s.length / 2)
    return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
  }
  const out: Record<string, number> = {}
  for (const mode of ['off', 'on', 'dead'] as const) {
    out[`${mode}Seq`] = median(runs[mode].map((x) => x.seqOps))
    out[`${mode}P99`] = median(runs[mode].map((x) => x.seqP99))
    out[`${mode}Batch`] = median(runs[mode].map((x) => x.batchEvents))
  }
  out.onSeqLoss = (100 * (out.offSeq! - out.onSeq!)) / out.offSeq!
  out.onBatchLoss = (100 * (out.offBatch! - out.onBatch!)) / out.offBatch!
  out.exports = otlp.spans()
  return out
}

/**
 * CPU cost per request of the request-id wrapper with traces off, on a handler that awaits a few
 * times like the real ones: ns/request, raw handler first (before this process ever enters an
 * AsyncLocalStorage, whose promise hooks then slow every await), then wrapped. Run in a fresh
 * process (`--micro`) for the raw number to mean anything.
 */
export async function measureRequestIdCost(n = 200_000): Promise<{ rawNs: number; wrappedNs: number }> {
  const { withRequestContext } = await import('../../src/lib/ops/request-context-fetch')
  const ok = new Response(null, { status: 204 })
  const handler = async (_req: Request) => {
    for (let i = 0; i < 5; i++) await Promise.resolve()
    return ok
  }
  const wrapped = withRequestContext(handler)
  const req = new Request('http://x/api/streams?sessionId=s', { method: 'POST', headers: { 'x-request-id': 'bench-1' } })
  const time = async (fn: (r: Request) => Promise<Response>) => {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < n; i++) await fn(req)
    return Number(process.hrtime.bigint() - t0) / n
  }
  await time(handler)
  const rawNs = await time(handler)
  await time(wrapped)
  const wrappedNs = await time(wrapped)
  return { rawNs, wrappedNs }
}

export const tracingCost: Scenario = {
  id: 'tracing',
  title: 'session writer with OpenTelemetry traces off / on (loopback OTLP sink) / on (dead endpoint); whole app, auth on',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'offSeq', label: 'off: seq ops/s', unit: 'ops/s', better: 'higher' },
    { key: 'onSeq', label: 'on: seq ops/s', unit: 'ops/s', better: 'higher' },
    { key: 'deadSeq', label: 'dead endpoint: seq ops/s', unit: 'ops/s', better: 'higher' },
    { key: 'offP99', label: 'off: seq p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'onP99', label: 'on: seq p99', unit: 'ms', better: 'lower', digits: 2 },
    { key: 'offBatch', label: 'off: 8×10 events/s', unit: 'events/s', better: 'higher' },
    { key: 'onBatch', label: 'on: 8×10 events/s', unit: 'events/s', better: 'higher' },
    { key: 'deadBatch', label: 'dead endpoint: 8×10 events/s', unit: 'events/s', better: 'higher' },
    { key: 'onSeqLoss', label: 'on vs off: seq loss', unit: '%', better: 'lower', digits: 1 },
    { key: 'onBatchLoss', label: 'on vs off: 8×10 loss', unit: '%', better: 'lower', digits: 1 },
  ],
  run: ({ quick }) => measureTracing(quick),
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '\0')) {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, rounds: { type: 'string' }, micro: { type: 'boolean', default: false } },
  })
  if (values.micro) {
    const r = await measureRequestIdCost()
    console.log(`request id wrapper (traces off): raw ${r.rawNs.toFixed(0)} ns/request, wrapped ${r.wrappedNs.toFixed(0)} ns/request`)
    process.exit(0)
  }
  const r = await measureTracing(values.quick, values.rounds ? Number(values.rounds) : undefined)
  for (const [k, v] of Object.entries(r)) console.log(`${k}\t${v.toFixed(k.endsWith('Loss') || k.endsWith('P99') ? 2 : 0)}`)
  process.exit(0)
}
