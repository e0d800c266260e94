import { describe, expect, it } from 'vitest'
import { checkTargets, renderTargets } from '../../bench/targets'
import type { Results } from '../../bench/table'

const byLabel = (results: Results) => new Map(checkTargets(results).map((r) => [r.label, r]))

describe('issue 13 targets in the bench report', () => {
  it('judges ratios between servers of the same run', () => {
    const rows = byLabel({
      sequential: { 'ours-normal': { ops: 5_000, p99: 0.5 }, 'ref-memory': { ops: 4_000, p99: 0.4 } },
      producer: { 'ours-normal': { rate: 400_000 }, 'ref-memory': { rate: 200_000 } },
    })
    expect(rows.get('sequential single POSTs: ours normal ÷ ref memory')).toMatchObject({ measured: '1.25x', met: 'yes' })
    expect(rows.get('sequential p99: ours normal ÷ ref memory')).toMatchObject({ measured: '1.25x', met: 'no' })
    expect(rows.get('IdempotentProducer: ours normal ÷ ref memory')).toMatchObject({ measured: '2.00x', met: 'yes' })
  })

  it('judges the app writer against the bare sequential row of the same run', () => {
    const rows = byLabel({
      sequential: { 'ours-normal': { ops: 4_000 } },
      'session-writer': { 'ours-normal': { seqOps: 3_000, batchEvents: 12_000 } },
    })
    expect(rows.get('session writer (whole app) seq ops/s ÷ bare sequential ops/s (ours normal)')).toMatchObject({
      measured: '0.75x',
      met: 'no',
    })
    expect([...rows.values()].find((r) => r.label.startsWith('session writer 8×10'))).toMatchObject({ met: 'no' })
  })

  it('reads a failed or lost scenario as a miss and a missing one as not run', () => {
    const rows = byLabel({
      sse1000: { 'ours-normal': { p99: Number.POSITIVE_INFINITY } },
      'node-capacity': { 'ours-normal': { maxSessions: Number.NaN } },
    })
    expect(rows.get('1,000 SSE readers @50/s: delivery p99')).toMatchObject({ measured: 'lost', met: 'no' })
    expect(rows.get('node capacity: largest N with delivery p99 < 100 ms')).toMatchObject({ measured: 'failed', met: 'no' })
    expect(rows.get('storage: on disk ÷ payload')).toMatchObject({ measured: 'not run', met: 'not run' })
  })

  it('counts only the targets the run measured', () => {
    const text = renderTargets(checkTargets({ storage: { 'ours-normal': { ratio: 1.05 } }, sse10k: { 'ours-normal': { p99: 300 } } }))
    expect(text).toMatch(/^Issue 13 targets: 1 of 2 met in this run \(\d+ not run\)/)
    expect(text).toContain('| storage: on disk ÷ payload | 1.05x | <= 1.50x | yes |')
  })
})
