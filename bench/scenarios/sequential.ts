/** Sequential single POSTs on one connection: throughput and latency of one append at a time. */
import { append, createStream, makePool } from '../http'
import { makeMessage } from '../messages'
import { now, percentile, Samples } from '../stats'
import type { Scenario } from './types'

let run = 0

export const sequential: Scenario = {
  id: 'sequential',
  title: 'sequential single POSTs, 1 connection',
  repeats: 3,
  metrics: [
    { key: 'ops', label: 'ops/s', unit: 'ops/s', better: 'higher', target: { op: '>=', value: 3000 } },
    { key: 'p99', label: 'p99', unit: 'ms', better: 'lower', target: { op: '<', value: 2 }, digits: 2 },
  ],
  async run({ server, quick }) {
    const pool = makePool(server.origin, 1)
    const path = server.streamPath(`seq-${process.pid}-${run++}`)
    await createStream(pool, path)
    for (let i = 0; i < 200; i++) await append(pool, path, makeMessage(0, i)) // warm-up
    const durationMs = quick ? 1_000 : 3_000
    const latencies = new Samples()
    let failed = 0
    const start = now()
    let s = 200
    while (now() - start < durationMs) {
      const t0 = now()
      const reply = await append(pool, path, makeMessage(0, s++, t0))
      latencies.push(now() - t0)
      if (reply.status >= 300) failed++
    }
    const elapsed = (now() - start) / 1000
    await pool.close()
    if (failed > 0) throw new Error(`${failed} appends failed`)
    return { ops: latencies.length / elapsed, p99: percentile(latencies.values(), 99) }
  },
}
