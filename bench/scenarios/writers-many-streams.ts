/** 32 writers appending to random streams among 1,000: every append must succeed. */
import { append, createStreams, makePool } from '../http'
import { makeMessage } from '../messages'
import { now } from '../stats'
import type { Scenario } from './types'

const WRITERS = 32
let run = 0

export const writersManyStreams: Scenario = {
  id: 'streams1000',
  title: '32 writers over 1,000 streams',
  repeats: 1,
  metrics: [
    { key: 'failedPct', label: 'failed appends', unit: '%', better: 'lower', target: { op: '<=', value: 0 }, digits: 2 },
    { key: 'ops', label: 'ops/s', unit: 'ops/s', better: 'higher' },
  ],
  async run({ server, quick, log }) {
    const total = quick ? 5_000 : 20_000
    const pool = makePool(server.origin, WRITERS)
    const paths = await createStreams(pool, server.streamPath, `s1000-${process.pid}-${run++}`, 1000)
    let sent = 0
    let failed = 0
    const statuses = new Map<string, number>()
    const start = now()
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let s = 0; sent < total; s++) {
          sent++
          const path = paths[Math.floor(Math.random() * paths.length)]
          let status: string
          try {
            status = String((await append(pool, path, makeMessage(w, s))).status)
          } catch (err) {
            status = (err as Error).message
          }
          if (!status.startsWith('2')) {
            failed++
            statuses.set(status, (statuses.get(status) ?? 0) + 1)
          }
        }
      }),
    )
    const elapsed = (now() - start) / 1000
    await pool.close()
    if (failed > 0) log(`failures: ${[...statuses].map(([s, n]) => `${s} x${n}`).join(', ')}`)
    return { failedPct: (100 * failed) / sent, ops: sent / elapsed }
  },
}
