/**
 * Catch-up read: 50k messages written one per POST (128 concurrent writers, untimed), then read
 * from the start following Stream-Next-Offset until Stream-Up-To-Date, on one connection.
 * MB = 10^6 bytes of response body.
 */
import { append, createStream, forEachLimited, makePool } from '../http'
import { makeMessage } from '../messages'
import { now } from '../stats'
import type { Scenario } from './types'

let run = 0

export const catchUp: Scenario = {
  id: 'catchup',
  title: 'catch-up read of 50k messages written one per POST',
  repeats: 1, // the three reads happen inside one run, over the same written stream
  metrics: [
    {
      key: 'mbps',
      label: 'MB/s',
      unit: 'MB/s',
      better: 'higher',
      target: { op: '>=', value: 80 },
      pgTarget: { op: '>=', value: 80 },
      digits: 1,
    },
  ],
  async run({ server, quick, log }) {
    // 50k, not 100k: the file-backed reference fills at ~900 appends/s whatever the concurrency
    // (128 or 512 writers), and its 100k fill was ~100 s, the longest single part of a full run.
    // 10 MB read back is still ~0.1 s per read on ours, three reads, median.
    const count = quick ? 20_000 : 50_000
    // 128 concurrent writers: the file-backed reference fsyncs each append but coalesces
    // concurrent fsyncs, so the fill takes a minute rather than three.
    const writePool = makePool(server.origin, 128)
    const path = server.streamPath(`catchup-${process.pid}-${run++}`)
    await createStream(writePool, path)
    const t0 = now()
    await forEachLimited(count, 128, async (i) => {
      const reply = await append(writePool, path, makeMessage(0, i))
      if (reply.status >= 300) throw new Error(`append ${i}: HTTP ${reply.status}`)
    })
    log(`wrote ${count} messages in ${((now() - t0) / 1000).toFixed(1)} s`)
    await writePool.close()

    const rates: number[] = []
    for (let r = 0; r < 3; r++) {
      const pool = makePool(server.origin, 1)
      const chunks: Buffer[] = []
      let offset = '-1'
      let bytes = 0
      const start = now()
      for (;;) {
        const res = await pool.request({ path: `${path}?offset=${encodeURIComponent(offset)}`, method: 'GET' })
        const body = Buffer.from(await res.body.arrayBuffer())
        if (res.statusCode !== 200) throw new Error(`catch-up GET: HTTP ${res.statusCode}`)
        bytes += body.length
        chunks.push(body)
        const next = res.headers['stream-next-offset']
        if (res.headers['stream-up-to-date'] === 'true' || typeof next !== 'string' || next === offset) break
        offset = next
      }
      rates.push(bytes / 1e6 / ((now() - start) / 1000))
      await pool.close()
      // Untimed check that the read really returned every message.
      let seen = 0
      for (const c of chunks) seen += (JSON.parse(c.toString('utf8')) as unknown[]).length
      if (seen !== count) throw new Error(`catch-up read returned ${seen} messages, expected ${count}`)
      if (r === 0) log(`read ${count} messages in ${chunks.length} responses, ${(bytes / 1e6).toFixed(1)} MB`)
    }
    rates.sort((a, b) => a - b)
    return { mbps: rates[1] }
  },
}
