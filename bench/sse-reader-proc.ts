/**
 * A child process holding a share of the SSE readers of bench/scenarios/sse-10k.ts: one load
 * generator process cannot parse 100k events/s on this box and also stay out of the latency, so
 * the readers are spread over several of these (forked with IPC, `serialization: 'advanced'`).
 *
 * Protocol: argv = origin, stream path, reader count. The child connects its readers (in small
 * batches, so the server's listen backlog is never overrun), sends {type:'ready', connected, error?},
 * and on {type:'stop'} aborts them and sends {type:'result', latencies, ...}. Latency = arrival −
 * the message's `t`, both on the epoch clock (timeOrigin + performance.now()), which every
 * process on the machine shares.
 */
import { setMaxListeners } from 'node:events'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { readSse } from './sse'
import { Samples, sleep } from './stats'

export interface ReaderResult {
  type: 'result'
  latencies: Float64Array
  /** Readers that errored (refused, reset, bad status) after connecting or while connecting. */
  errors: number
  firstError: string
  /** This process's event-loop delay p99 during the run (ms) and its CPU seconds. */
  loopDelayP99: number
  cpuSeconds: number
}

export interface ReadyMessage {
  type: 'ready'
  connected: number
  error?: string
}

const SEND_TIME = /"t":\s*([0-9.]+)/g
const CONNECT_BATCH = 200

async function main(): Promise<void> {
  const [origin, path, countText] = process.argv.slice(2)
  const count = Number(countText)
  const abort = new AbortController()
  setMaxListeners(0, abort.signal)
  const latencies = new Samples()
  const epochNow = () => performance.timeOrigin + performance.now()
  let connected = 0
  let errors = 0
  let firstError = ''
  const readers: Promise<void>[] = []
  for (let i = 0; i < count; i++) {
    readers.push(
      readSse({
        origin,
        path,
        offset: '-1', // the stream is empty until every reader is connected
        signal: abort.signal,
        onConnected: () => connected++,
        onData: (payload, at) => {
          const arrived = performance.timeOrigin + at
          SEND_TIME.lastIndex = 0
          for (let m = SEND_TIME.exec(payload); m; m = SEND_TIME.exec(payload)) latencies.push(arrived - Number(m[1]))
        },
      }).catch((e: Error) => {
        errors++
        firstError ||= e.message
      }),
    )
    // Let each batch's handshakes finish before opening the next.
    if ((i + 1) % CONNECT_BATCH === 0) {
      const deadline = epochNow() + 30_000
      while (connected + errors < i + 1 && epochNow() < deadline) await sleep(10)
    }
  }
  const deadline = epochNow() + 60_000
  while (connected + errors < count && epochNow() < deadline) await sleep(20)
  const ready: ReadyMessage = { type: 'ready', connected, ...(errors ? { error: firstError } : {}) }
  process.send?.(ready)

  const loopDelay = monitorEventLoopDelay({ resolution: 5 })
  loopDelay.enable()
  const cpu0 = process.cpuUsage()
  process.on('message', async (msg: { type?: string }) => {
    if (msg.type !== 'stop') return
    loopDelay.disable()
    const cpu = process.cpuUsage(cpu0)
    abort.abort()
    await Promise.allSettled(readers)
    const result: ReaderResult = {
      type: 'result',
      latencies: latencies.values().slice(),
      errors,
      firstError,
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    }
    process.send?.(result, () => process.exit(0))
  })
}

await main()
