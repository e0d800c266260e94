/**
 * Slow readers never slow writers (issue 10): write throughput on one stream with no readers,
 * 256 SSE readers that keep up, and 256 SSE readers that read 1 KiB/s, in one run per server.
 * Each reader mode gets a fresh stream; the slow readers' buffers are filled first (a few large
 * appends) so the timed part measures the steady state of readers that cannot keep up. The
 * "slow ÷ none" rows are the issue's bar (at least 0.9).
 */
import { connect, type Socket } from 'node:net'
import { setMaxListeners } from 'node:events'
import type { Pool } from 'undici'
import { append, createStream, makePool } from '../http'
import { makeBatch, makeMessage } from '../messages'
import { readSse } from '../sse'
import { now, sleep } from '../stats'
import { withoutFileReference } from '../servers'
import type { Scenario } from './types'

const READERS = 256
const WRITERS = 8
const SLOW_BYTES_PER_SECOND = 1024
/**
 * The longest a mode's warm-up may take. Tether's servers need 3-4 s here; the in-memory
 * reference never finishes it with 256 readers, and waiting 30 s for that twice was a minute of a
 * full run.
 */
const WARMUP_LIMIT_MS = 12_000
let run = 0

type Mode = 'none' | 'normal' | 'slow'

/**
 * A reader that takes 1 KiB a second off its socket (the kernel's receive window closes, so the
 * server's send buffer fills). When the server ends the response it reconnects from the offset of
 * the last complete control event it read, as a real client would.
 */
function slowReader(origin: string, path: string, signal: AbortSignal, onConnected: () => void): Promise<void> {
  const { hostname, port } = new URL(origin)
  let offset = '-1'
  let first = true
  // Resolves true when the connection was made (and later ended), false when it never was.
  const once = () =>
    new Promise<boolean>((done) => {
      const socket: Socket = connect({ host: hostname, port: Number(port) })
      let made = false
      let text = ''
      let headSeen = false
      const timer = setInterval(() => {
        const chunk = socket.read(SLOW_BYTES_PER_SECOND) ?? socket.read()
        if (!chunk) return
        text += chunk.toString('latin1')
        if (!headSeen) {
          const end = text.indexOf('\r\n\r\n')
          if (end === -1) return
          headSeen = true
          text = text.slice(end + 4)
        }
        // Keep only what follows the last complete event; remember its offset if it was a control event.
        const last = text.lastIndexOf('\n\n')
        if (last === -1) return
        const complete = text.slice(0, last)
        const at = complete.lastIndexOf('"streamNextOffset":"')
        if (at !== -1) offset = complete.slice(at + 20, complete.indexOf('"', at + 20))
        text = text.slice(last + 2)
      }, 1000)
      const finish = () => {
        clearInterval(timer)
        signal.removeEventListener('abort', onAbort)
        socket.destroy()
        done(made)
      }
      const onAbort = () => finish()
      signal.addEventListener('abort', onAbort, { once: true })
      socket.on('connect', () => {
        made = true
        socket.pause()
        socket.write(`GET ${path}?offset=${encodeURIComponent(offset)}&live=sse HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`)
        if (first) {
          first = false
          onConnected()
        }
      })
      socket.on('error', finish)
      socket.on('close', finish)
    })
  // A refused connection (the server is gone) is retried after a pause, as a client's backoff
  // would: reconnecting at once spun 159 readers at ~80 % of a core in the load generator after a
  // failed run, through every later row of that full run (2026-11-30).
  return (async () => {
    while (!signal.aborted) if (!(await once())) await sleep(250)
  })()
}

async function sequentialOps(pool: Pool, path: string, durationMs: number): Promise<number> {
  let ops = 0
  const start = now()
  while (now() - start < durationMs) {
    const reply = await append(pool, path, makeMessage(0, ops))
    if (reply.status >= 300) throw new Error(`append: HTTP ${reply.status}`)
    ops++
  }
  return ops / ((now() - start) / 1000)
}

async function concurrentOps(pool: Pool, path: string, durationMs: number): Promise<number> {
  let ops = 0
  const start = now()
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let s = 0; now() - start < durationMs; s++) {
        const reply = await append(pool, path, makeMessage(w + 1, s))
        if (reply.status >= 300) throw new Error(`append: HTTP ${reply.status}`)
        ops++
      }
    }),
  )
  return ops / ((now() - start) / 1000)
}

const metric = (key: string, label: string, ratio = false) => ({
  key,
  label,
  unit: ratio ? 'ratio' : 'ops/s',
  better: 'higher' as const,
  digits: ratio ? 2 : 0,
  ...(ratio ? { target: { op: '>=' as const, value: 0.9 } } : {}),
})

export const slowReaders: Scenario = {
  id: 'slow-readers',
  title: `write throughput with ${READERS} SSE readers (keeping up / reading 1 KiB/s) vs none`,
  repeats: 1, // each run already measures six phases
  // With 256 readers the file-backed reference stalls at 0 ops/s in both reader modes, and waiting
  // out its two warm-ups was 3 of a full run's minutes. The in-memory reference stays.
  servers: withoutFileReference,
  metrics: [
    metric('seqNone', 'sequential POSTs, no readers'),
    metric('seqNormal', `sequential POSTs, ${READERS} readers keeping up`),
    metric('seqSlow', `sequential POSTs, ${READERS} slow readers`),
    metric('seqRatio', 'sequential: slow ÷ none', true),
    metric('w8None', `${WRITERS} writers, no readers`),
    metric('w8Normal', `${WRITERS} writers, ${READERS} readers keeping up`),
    metric('w8Slow', `${WRITERS} writers, ${READERS} slow readers`),
    metric('w8Ratio', `${WRITERS} writers: slow ÷ none`, true),
  ],
  async run({ server, quick, log }) {
    const durationMs = quick ? 1_500 : 3_000
    const pool = makePool(server.origin, WRITERS)
    const results: Record<string, number> = {}
    // Every mode's readers, stopped in `finally` however the run ends (a server gone mid-run too).
    const aborts: AbortController[] = []
    try {
      for (const mode of ['none', 'normal', 'slow'] as Mode[]) {
        const path = server.streamPath(`slow-${mode}-${process.pid}-${run++}`)
        await createStream(pool, path)
        const abort = new AbortController()
        aborts.push(abort)
        setMaxListeners(0, abort.signal)
        let connected = 0
        const readers: Promise<void>[] = []
        if (mode !== 'none') {
          for (let r = 0; r < READERS; r++) {
            readers.push(
              mode === 'slow'
                ? slowReader(server.origin, path, abort.signal, () => connected++)
                : readSse({
                    origin: server.origin,
                    path,
                    offset: '-1',
                    signal: abort.signal,
                    onConnected: () => connected++,
                    onData: () => {},
                  }).catch(() => {}),
            )
          }
          const deadline = now() + 60_000
          while (connected < READERS && now() < deadline) await sleep(20)
          if (connected < READERS) throw new Error(`only ${connected}/${READERS} readers connected`)
        }
        // Warm-up, the same for every mode: 16 MiB in 64 KiB batches fills a slow reader's
        // server-side buffer (1 MiB) and what the kernel takes on both ends of its socket, then
        // 200 single appends. 4 MiB did not: on loopback here (tcp_wmem up to 4 MiB, tcp_rmem
        // up to 32 MiB) no reader was at its limit after it, so the "slow" phase measured
        // readers still taking data into their socket buffers (a writer at 0.2x).
        // A server that cannot feed its readers (the file-backed reference stalls at 0 ops/s with
        // 256 of them) would hold the whole run for many minutes here: past WARMUP_LIMIT_MS it is
        // reported as lost for this mode (NaN) and the run goes on.
        const warmupEnd = now() + (quick ? WARMUP_LIMIT_MS / 4 : WARMUP_LIMIT_MS)
        let finished = true
        for (let i = 0; i < 456 && finished; i++) {
          await append(pool, path, i < 256 ? makeBatch(9, i * 320, 320) : makeMessage(9, i - 256))
          finished = now() < warmupEnd
        }
        const key = mode === 'none' ? 'None' : mode === 'normal' ? 'Normal' : 'Slow'
        if (!finished) {
          abort.abort()
          await Promise.all(readers)
          results[`seq${key}`] = Number.NaN
          results[`w8${key}`] = Number.NaN
          log(`${mode}: lost (the warm-up's appends did not finish in ${WARMUP_LIMIT_MS / 1000} s)`)
          continue
        }
        await sleep(500)
        const seq = await sequentialOps(pool, path, durationMs)
        const w8 = await concurrentOps(pool, path, durationMs)
        abort.abort()
        await Promise.all(readers)
        results[`seq${key}`] = seq
        results[`w8${key}`] = w8
        log(`${mode}: sequential ${seq.toFixed(0)} ops/s, ${WRITERS} writers ${w8.toFixed(0)} ops/s`)
      }
    } finally {
      for (const abort of aborts) abort.abort()
      await pool.close()
    }
    results.seqRatio = results.seqSlow / results.seqNone
    results.w8Ratio = results.w8Slow / results.w8None
    return results
  },
}
