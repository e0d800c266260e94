/**
 * Server memory after holding 1,000 streams x 1,000 messages (200 MB of payload). Written in
 * JSON-array batches of 100 messages (flattened into single messages by the server) so the
 * fill takes seconds rather than minutes; the stored shape is the same as one per POST.
 */
import { append, createStreams, forEachLimited, makePool } from '../http'
import { makeBatch } from '../messages'
import { memoryOf } from '../proc'
import { now, sleep } from '../stats'
import type { Scenario } from './types'

const BATCH = 100
const MiB = 1024 * 1024

export const rss: Scenario = {
  id: 'rss',
  title: 'RSS after 1,000 streams x 1,000 messages',
  repeats: 1,
  metrics: [
    { key: 'rss', label: 'RSS', unit: 'MiB', better: 'lower', target: { op: '<=', value: 100 } },
    { key: 'peak', label: 'peak RSS (VmHWM)', unit: 'MiB', better: 'lower' },
    // The server runs under tsx (as `npm run streams` does), which alone holds ~40 MiB: the
    // idle figure and the growth separate the runtime's share from the data's.
    { key: 'idle', label: 'RSS at start, idle', unit: 'MiB', better: 'lower' },
    { key: 'growth', label: 'RSS growth from idle', unit: 'MiB', better: 'lower' },
    // If the fill failed in part, the RSS above is for less data than the title says.
    { key: 'fillFailedPct', label: 'fill appends failed', unit: '%', better: 'lower', target: { op: '<=', value: 0 }, digits: 1 },
  ],
  async run({ server, quick, log }) {
    const streams = 1000
    const perStream = quick ? 200 : 1000
    const idle = memoryOf(server.pid).rss
    const pool = makePool(server.origin, 32)
    const paths = await createStreams(pool, server.streamPath, `rss-${process.pid}`, streams)
    const batchesPerStream = perStream / BATCH
    const t0 = now()
    let failed = 0
    // Round-robin over streams so every stream grows together, like many live sessions.
    await forEachLimited(streams * batchesPerStream, 32, async (i) => {
      const stream = i % streams
      const batch = Math.floor(i / streams)
      const reply = await append(pool, paths[stream], makeBatch(stream, batch * BATCH, BATCH))
      if (reply.status >= 300) failed++
    })
    await pool.close()
    log(
      `filled ${streams} x ${perStream} messages in ${((now() - t0) / 1000).toFixed(1)} s` +
        (failed > 0 ? `; ${failed} of ${streams * batchesPerStream} batch appends FAILED` : ''),
    )
    await sleep(2_000) // let the server finish background work (checkpoints, GC) before measuring
    const mem = memoryOf(server.pid)
    return {
      rss: mem.rss / MiB,
      peak: mem.peak / MiB,
      idle: idle / MiB,
      growth: (mem.rss - idle) / MiB,
      fillFailedPct: (100 * failed) / (streams * batchesPerStream),
    }
  },
}
