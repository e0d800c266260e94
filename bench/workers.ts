/**
 * Worker start time: how long from creating a session to its agent's first agent-state
 * heartbeat in the stream, for
 *   - a cold Docker container (create + start + node + catch-up + first publish),
 *   - a warm-pool Docker container (claim of an already started container),
 *   - a process-runtime worker (cold child process), and its warm pool.
 * Median of several sessions each. Targets (issue 4): cold docker < 1500 ms, warm claim < 100 ms.
 *
 *   tsx bench/workers.ts [--samples 7]        run alone (prints a small table)
 *   npm run bench -- --only workers           through the bench runner (bench/scenarios/index.ts)
 *
 * The app runs in this process on a fresh data dir with the real supervisor; the echo provider
 * needs no network. Docker figures are NaN when no engine can be started.
 */
import { stream } from '@durable-streams/client'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { connectDocker } from '../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../src/lib/workers/image/build'
import type { RuntimeKind } from '../src/lib/workers/runtime'
import { median } from './stats'
import { prepareDocker, startWorkerApp, waitForPool, type WorkerApp } from './worker-app'

export interface WorkerStartTimes {
  /** ms, median: create a session → first heartbeat, cold docker container. */
  dockerCold: number
  /** ms, median: create a session → first heartbeat, warm-pool docker container. */
  dockerWarm: number
  /** ms, median: the runtime's claim() call alone (stdin write + rename). */
  dockerClaimCall: number
  processCold: number
  processWarm: number
}

/** Creates a session and resolves with ms until its first agent-state event arrives (SSE). */
async function timeToFirstHeartbeat(s: WorkerApp): Promise<number> {
  const t0 = performance.now()
  const res = await fetch(`${s.url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'long-running', agent: { model: 'echo' } }),
  })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  const { session } = (await res.json()) as { session: { id: string } }
  const controller = new AbortController()
  const live = await stream<{ type?: string }>({
    url: `${s.url}/api/streams/sessions/${session.id}`,
    offset: '-1',
    live: 'sse',
    json: true,
    headers: { authorization: `Bearer ${s.adminToken}` },
    signal: controller.signal,
    warnOnHttp: false,
  })
  const elapsed = await new Promise<number>((resolveTime, reject) => {
    const timer = setTimeout(() => reject(new Error(`no heartbeat from ${session.id} within 60 s`)), 60_000)
    live.subscribeJson((batch) => {
      if (batch.items.some((e) => e.type === 'agent-state')) {
        clearTimeout(timer)
        resolveTime(performance.now() - t0)
      }
    })
  })
  controller.abort()
  await fetch(`${s.url}/api/sessions/${session.id}/terminate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' },
    body: '{}',
  })
  return elapsed
}

/**
 * Waits until the pool's idle worker is warm: its process logs 'waiting for a claim' once it
 * has started and warmed up (src/worker/main.ts). The pool counts a worker as soon as its
 * container or process has started, so a claim right after a refill would time node's own
 * start inside it (~300 ms under load), not the claim.
 */
async function waitForWarmWorker(app: WorkerApp, runtime: RuntimeKind): Promise<void> {
  const rt = await app.supervisor.runtime(runtime)
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    const idle = (await rt.list()).find((w) => w.running && w.sessionId === null)
    if (idle && (await rt.logs(idle.id)).includes('waiting for a claim')) return
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`the ${runtime} warm worker never became ready for a claim`)
}

async function sampleRuntime(
  runtime: RuntimeKind,
  samples: number,
  log: (m: string) => void,
): Promise<{ cold: number; warm: number; claimCall: number }> {
  const cold: number[] = []
  const coldApp = await startWorkerApp(runtime, 0, 'workers')
  try {
    await timeToFirstHeartbeat(coldApp) // warm-up: bundle / image caches, JIT
    for (let i = 0; i < samples; i++) {
      cold.push(await timeToFirstHeartbeat(coldApp))
      log(`${runtime} cold #${i + 1}: ${cold.at(-1)!.toFixed(0)} ms`)
    }
  } finally {
    await coldApp.close()
  }
  const warm: number[] = []
  const claimCalls: number[] = []
  const warmApp = await startWorkerApp(runtime, 1, 'workers')
  try {
    const rt = await warmApp.supervisor.runtime(runtime)
    const claim = rt.claim.bind(rt)
    rt.claim = async (...args) => {
      const t = performance.now()
      const info = await claim(...args)
      claimCalls.push(performance.now() - t)
      return info
    }
    for (let i = 0; i < samples + 1; i++) {
      await waitForPool(warmApp, runtime, 1)
      await waitForWarmWorker(warmApp, runtime)
      const ms = await timeToFirstHeartbeat(warmApp)
      if (i > 0) warm.push(ms) // the first claim warms caches
      if (i > 0) log(`${runtime} warm #${i}: ${ms.toFixed(0)} ms`)
    }
  } finally {
    await warmApp.close()
  }
  return { cold: median(cold), warm: median(warm), claimCall: median(claimCalls.slice(1)) }
}

export async function measureWorkerStartTimes(options: { samples?: number; log?: (m: string) => void } = {}): Promise<WorkerStartTimes> {
  const samples = options.samples ?? 5
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`))
  const processTimes = await sampleRuntime('process', samples, log)
  let docker = { cold: Number.NaN, warm: Number.NaN, claimCall: Number.NaN }
  if (await prepareDocker(log)) {
    try {
      await ensureWorkerImage({ docker: await connectDocker(), log })
      docker = await sampleRuntime('docker', samples, log)
    } catch (err) {
      log(`docker measurements failed: ${(err as Error).message}`)
    }
  }
  return {
    dockerCold: docker.cold,
    dockerWarm: docker.warm,
    dockerClaimCall: docker.claimCall,
    processCold: processTimes.cold,
    processWarm: processTimes.warm,
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { samples: { type: 'string', default: '7' } } })
  const t = await measureWorkerStartTimes({ samples: Number(values.samples) })
  const row = (label: string, ms: number, target = '') =>
    console.log(`| ${label} | ${Number.isNaN(ms) ? 'n/a' : ms.toFixed(0)} ms | ${target} |`)
  console.log('\n| worker start (median, session created → first agent-state heartbeat) | time | target |\n|---|---|---|')
  row('docker, cold container', t.dockerCold, '< 1500 ms')
  row('docker, warm-pool claim', t.dockerWarm, '< 100 ms')
  row('docker, claim() call alone', t.dockerClaimCall)
  row('process runtime, cold', t.processCold)
  row('process runtime, warm-pool claim', t.processWarm)
  process.exit(0)
}
