/** Renders benchmark results as one markdown table with ratios against each reference server. */
import type { Metric, Scenario, Target } from './scenarios/types'
import { serverLabels, type ServerKind } from './servers'

/** results[scenarioId][kind][metricKey] = median value */
export type Results = Record<string, Partial<Record<ServerKind, Record<string, number>>>>

function fmt(v: number | undefined, metric: Metric): string {
  if (v === undefined) return '-'
  if (Number.isNaN(v)) return 'failed'
  if (!Number.isFinite(v)) return 'lost'
  const digits = metric.digits ?? (Math.abs(v) >= 100 ? 0 : 1)
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function ratio(ours: number | undefined, ref: number | undefined): string {
  if (ours === undefined || ref === undefined || Number.isNaN(ours) || Number.isNaN(ref)) return '-'
  if (!Number.isFinite(ours) || !Number.isFinite(ref)) return '-'
  if (ref === 0) return ours === 0 ? '=' : '-'
  const r = ours / ref
  return `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}x`
}

export function targetText(t: Target | undefined, unit: string): string {
  if (!t) return ''
  return t.text ?? `${t.op} ${t.value.toLocaleString('en-US')} ${unit}`
}

/** Whether a measured value meets a metric's target. */
export function meetsTarget(v: number, t: Target): boolean {
  return t.op === '>=' ? v >= t.value : t.op === '<=' ? v <= t.value : v < t.value
}

function meets(v: number | undefined, t: Target | undefined): string {
  if (!t || v === undefined) return ''
  if (Number.isNaN(v)) return 'no'
  return meetsTarget(v, t) ? 'yes' : 'no'
}

/** The PostgreSQL target's text and whether this run met it (a ratio target needs its server in the run). */
function pgTargetCells(m: Metric, v: (k: ServerKind) => number | undefined): [string, string] {
  const t = m.pgTarget
  if (!t) return ['', '']
  if ('of' in t) {
    const ours = v('ours-postgres')
    const base = v(t.of)
    if (ours === undefined || base === undefined) return [t.text, '-']
    return [t.text, ours / base >= t.min ? 'yes' : 'no']
  }
  return [targetText(t, m.unit), meets(v('ours-postgres'), t) || '-']
}

export function renderTable(scenarios: Scenario[], results: Results): string {
  // Columns for our PostgreSQL engine only when a run included it (--servers ours-postgres,…).
  const pg = Object.values(results).some((r) => r['ours-postgres'] !== undefined)
  const head = [
    'scenario',
    'metric',
    serverLabels['ours-normal'],
    serverLabels['ours-fsync'],
    serverLabels['ref-file'],
    serverLabels['ref-memory'],
    'normal ÷ ref file',
    'normal ÷ ref mem',
    'fsync ÷ ref file',
    'target (ours)',
    'met normal / fsync',
    ...(pg
      ? [serverLabels['ours-postgres'], 'postgres ÷ normal', 'postgres ÷ fsync', 'postgres ÷ ref mem', 'target (postgres)', 'met postgres']
      : []),
  ]
  const rows: string[][] = []
  for (const s of scenarios) {
    const r = results[s.id]
    if (!r) continue
    for (const m of s.metrics) {
      const v = (k: ServerKind) => r[k]?.[m.key]
      rows.push([
        s.title,
        `${m.label} (${m.unit}, ${m.better} is better)`,
        fmt(v('ours-normal'), m),
        fmt(v('ours-fsync'), m),
        fmt(v('ref-file'), m),
        fmt(v('ref-memory'), m),
        ratio(v('ours-normal'), v('ref-file')),
        ratio(v('ours-normal'), v('ref-memory')),
        ratio(v('ours-fsync'), v('ref-file')),
        targetText(m.target, m.unit),
        m.target ? `${meets(v('ours-normal'), m.target) || '-'} / ${meets(v('ours-fsync'), m.target) || '-'}` : '',
        ...(pg
          ? [
              fmt(v('ours-postgres'), m),
              ratio(v('ours-postgres'), v('ours-normal')),
              ratio(v('ours-postgres'), v('ours-fsync')),
              ratio(v('ours-postgres'), v('ref-memory')),
              ...pgTargetCells(m, v),
            ]
          : []),
      ])
    }
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}
