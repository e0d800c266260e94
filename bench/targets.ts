/**
 * Issue 13's targets, checked against one run's results and printed under the main table. Most
 * are ratios between servers or between scenarios of the same run (so the box's noise cancels),
 * which the per-metric `target` column of the main table cannot express.
 * A target whose inputs were not part of the run (--only, --servers) reads "not run".
 */
import { scenarios } from './scenarios'
import type { Target } from './scenarios/types'
import type { ServerKind } from './servers'
import { meetsTarget, type Results } from './table'

export interface TargetRow {
  label: string
  /** The measured value as printed (e.g. "0.82x", "27.6 ms"), or "not run". */
  measured: string
  target: string
  met: 'yes' | 'no' | 'not run'
}

type Value = (scenario: string, kind: ServerKind, key: string) => number | undefined

interface TargetDef {
  label: string
  target: string
  /** The value to judge, or undefined when an input is missing from the run. */
  value(v: Value): number | undefined
  show(x: number): string
  ok(x: number): boolean
}

/** The 8 writers × 10 events row on the day issue 13 was filed (specs/benchmarks.md, 2026-11-29). */
const FILING_DAY_BATCH_EVENTS = 6_506

const times = (x: number) => `${x.toFixed(2)}x`
const ms = (x: number) => `${x.toFixed(1)} ms`
const ratioOf = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : a / b)

/** ours normal ÷ the in-memory reference on one metric, higher is better. */
function againstMemory(label: string, scenario: string, key: string, min: number): TargetDef {
  return {
    label: `${label}: ours normal ÷ ref memory`,
    target: `>= ${min}x`,
    value: (v) => ratioOf(v(scenario, 'ours-normal', key), v(scenario, 'ref-memory', key)),
    show: times,
    ok: (x) => x >= min,
  }
}

/** The bound a scenario's metric already declares (one place for it: the main table judges it too). */
function metricTarget(scenario: string, key: string): Target {
  const target = scenarios.find((s) => s.id === scenario)?.metrics.find((m) => m.key === key)?.target
  if (!target) throw new Error(`bench/targets.ts: metric ${scenario}.${key} declares no target`)
  return target
}

/** ours normal against the bound its scenario's metric declares. */
function absolute(label: string, scenario: string, key: string, show: (x: number) => string): TargetDef {
  const t = metricTarget(scenario, key)
  return {
    label,
    target: `${t.op} ${show(t.value)}`,
    value: (v) => v(scenario, 'ours-normal', key),
    show,
    ok: (x) => meetsTarget(x, t),
  }
}

export const issue13Targets: TargetDef[] = [
  againstMemory('sequential single POSTs', 'sequential', 'ops', 1.2),
  {
    label: 'sequential p99: ours normal ÷ ref memory',
    target: '<= 1x (no worse)',
    value: (v) => ratioOf(v('sequential', 'ours-normal', 'p99'), v('sequential', 'ref-memory', 'p99')),
    show: times,
    ok: (x) => x <= 1,
  },
  againstMemory('32 writers on 32 streams', 'writers32', 'ops', 1.2),
  againstMemory('32 writers over 1,000 streams', 'streams1000', 'ops', 1.2),
  againstMemory('catch-up read', 'catchup', 'mbps', 1.2),
  {
    label: 'RSS after 1,000 × 1,000 messages: ref memory ÷ ours normal',
    target: '>= 1.2x',
    value: (v) => ratioOf(v('rss', 'ref-memory', 'rss'), v('rss', 'ours-normal', 'rss')),
    show: times,
    ok: (x) => x >= 1.2,
  },
  againstMemory('IdempotentProducer', 'producer', 'rate', 2),
  absolute('1,000 SSE readers @50/s: delivery p99', 'sse1000', 'p99', ms),
  {
    label: 'session writer (whole app) seq ops/s ÷ bare sequential ops/s (ours normal)',
    target: '>= 0.8x',
    value: (v) => ratioOf(v('session-writer', 'ours-normal', 'seqOps'), v('sequential', 'ours-normal', 'ops')),
    show: times,
    ok: (x) => x >= 0.8,
  },
  {
    label: `session writer 8×10 events/s ÷ the filing day's ${FILING_DAY_BATCH_EVENTS.toLocaleString('en-US')}`,
    target: '>= 2x',
    value: (v) => ratioOf(v('session-writer', 'ours-normal', 'batchEvents'), FILING_DAY_BATCH_EVENTS),
    show: times,
    ok: (x) => x >= 2,
  },
  absolute('docker warm-pool claim', 'workers', 'dockerWarm', (x) => `${x.toFixed(0)} ms`),
  absolute('node capacity: largest N with delivery p99 < 100 ms', 'node-capacity', 'maxSessions', (x) => x.toFixed(0)),
  absolute('10,000 SSE readers: delivered', 'sse10k', 'deliveredPct', (x) => `${x.toFixed(2)} %`),
  absolute('10,000 SSE readers: delivery p99', 'sse10k', 'p99', ms),
  absolute('10,000 SSE readers: server RSS', 'sse10k', 'rss', (x) => `${x.toFixed(0)} MiB`),
  absolute('storage: on disk ÷ payload', 'storage', 'ratio', times),
  absolute('idle process worker RSS', 'worker-density', 'processIdle', (x) => `${x.toFixed(1)} MiB`),
]

export function checkTargets(results: Results, defs: TargetDef[] = issue13Targets): TargetRow[] {
  const v: Value = (scenario, kind, key) => results[scenario]?.[kind]?.[key]
  return defs.map((d) => {
    const x = d.value(v)
    if (x === undefined) return { label: d.label, measured: 'not run', target: d.target, met: 'not run' }
    // NaN = the scenario failed; Infinity = lost (never delivered): both are a miss.
    if (!Number.isFinite(x)) return { label: d.label, measured: Number.isNaN(x) ? 'failed' : 'lost', target: d.target, met: 'no' }
    return { label: d.label, measured: d.show(x), target: d.target, met: d.ok(x) ? 'yes' : 'no' }
  })
}

export function renderTargets(rows: TargetRow[]): string {
  const run = rows.filter((r) => r.met !== 'not run')
  const met = run.filter((r) => r.met === 'yes').length
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [
    `Issue 13 targets: ${met} of ${run.length} met in this run${run.length < rows.length ? ` (${rows.length - run.length} not run)` : ''}`,
    '',
    line(['target', 'measured', 'wanted', 'met']),
    line(['---', '---', '---', '---']),
    ...rows.map((r) => line([r.label, r.measured, r.target, r.met])),
  ].join('\n')
}
