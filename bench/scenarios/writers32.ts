/** 32 concurrent writers, each appending single messages to its own stream. */
import { append, createStreams, makePool } from '../http'
import { makeMessage } from '../messages'
import { now } from '../stats'
import type { Scenario } from './types'

const WRITERS = 32
let run = 0

export const writers32: Scenario = {
  id: 'writers32',
  title: '32 writers on 32 streams',
  repeats: 3,
  metrics: [{ key: 'ops', label: 'ops/s', unit: 'ops/s', better: 'higher', target: { op: '>=', value: 10_000 } }],
  async run({ server, quick }) {
    const pool = makePool(server.origin, WRITERS)
    const paths = await createStreams(pool, server.streamPath, `w32-${process.pid}-${run++}`, WRITERS)
    const durationMs = quick ? 1_000 : 3_000
    let ops = 0
    let failed = 0
    const start = now()
    await Promise.all(
      paths.map(async (path, w) => {
        for (let s = 0; now() - start < durationMs; s++) {
          const reply = await append(pool, path, makeMessage(w, s))
          if (reply.status >= 300) failed++
          else ops++
        }
      }),
    )
    const elapsed = (now() - start) / 1000
    await pool.close()
    if (failed > 0) throw new Error(`${failed} appends failed`)
    return { ops: ops / elapsed }
  },
}
