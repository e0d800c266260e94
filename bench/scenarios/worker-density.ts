/**
 * Worker density (issue #13): memory of one agent worker, for how many fit on a node.
 *   - process runtime: VmRSS of the worker process plus all its descendants (/proc);
 *   - docker runtime: the container's memory usage from the Engine API stats (usage minus the
 *     inactive file cache, as `docker stats` shows it).
 * Three states per runtime: a warm-pool worker (started, unclaimed), an idle claimed one (echo
 * agent, 3 s after its session started, no turn running) and a busy one (peak while the echo
 * model streams a long answer, `/count 3000`, sampled every 100 ms). Target: idle process worker
 * under 50 MiB. Runs once, on ours; docker cells are NaN ("failed") without an engine. Also the
 * idle worker's private anonymous memory and, as the floor under any node worker, a bare node
 * after one node:http request (and one that loaded fetch, which the worker no longer does:
 * specs/benchmarks.md "worker density and warm claim").
 */
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { connectDocker } from '../../src/lib/workers/docker-engine'
import { type RuntimeKind, WORKER_NODE_FLAGS } from '../../src/lib/workers/runtime'
import { memoryOf } from '../proc'
import { sleep } from '../stats'
import { prepareDocker, startWorkerApp, waitForPool, type WorkerApp } from '../worker-app'
import type { Scenario } from './types'

const MiB = 1024 * 1024
const IDLE_SETTLE_MS = 3_000
const BUSY_TEXT = '/count 3000'

/** `root` and its descendants, from /proc. */
function processTree(root: number): number[] {
  const parent = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // exited meanwhile
    }
  }
  return [...parent.keys()].filter((pid) => {
    let p: number | undefined = pid
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p)
    return p === root
  })
}

/** Sum of VmRSS over `root` and its descendants (shared pages counted in each, as RSS does). */
function treeRss(root: number): number {
  let total = 0
  for (const pid of processTree(root)) {
    try {
      total += memoryOf(pid).rss
    } catch {
      // exited meanwhile
    }
  }
  return total
}

/** Sum of RssAnon (private anonymous memory: what the worker itself allocated) over the tree, bytes. */
function treeAnon(root: number): number {
  let total = 0
  for (const pid of processTree(root)) {
    try {
      total += 1024 * Number(/^RssAnon:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN)
    } catch {
      // exited meanwhile
    }
  }
  return total
}

/**
 * The floor under any node worker: RSS of a bare node with the workers' flags that has made one
 * request the worker's way (node:http) and then idles, measured the same way; `viaFetch`: the
 * same with Node's fetch (undici), which the worker no longer loads (src/worker/http-fetch.ts).
 */
async function nodeFloor(viaFetch: boolean): Promise<number> {
  const script = viaFetch
    ? "fetch('data:,x').then((r) => r.text()); setInterval(() => {}, 1000)"
    : "require('node:http').get('http://127.0.0.1:9', () => {}).on('error', () => {}); setInterval(() => {}, 1000)"
  const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, '-e', script], {
    stdio: 'ignore',
  })
  try {
    await sleep(IDLE_SETTLE_MS)
    return memoryOf(child.pid ?? 0).rss
  } finally {
    child.kill('SIGKILL')
  }
}

/** Sum of PSS (shared pages divided among the processes mapping them) over the tree, bytes. */
function treePss(root: number): number {
  let total = 0
  for (const pid of processTree(root)) {
    try {
      total += 1024 * Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? Number.NaN)
    } catch {
      // exited meanwhile
    }
  }
  return total
}

/** Where a process tree's memory is: per process, anonymous vs file-backed RSS and PSS (KiB). */
function treeBreakdown(root: number): string {
  return processTree(root)
    .map((pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8')
        const kib = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
        const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? Number.NaN)
        const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?'
        return `${name}[${pid}] anon ${(kib('RssAnon') / 1024).toFixed(1)} file ${(kib('RssFile') / 1024).toFixed(1)} pss ${(pss / 1024).toFixed(1)} MiB`
      } catch {
        return `${pid} gone`
      }
    })
    .join(', ')
}

interface DockerStats {
  memory_stats?: { usage?: number; stats?: Record<string, number> }
}

/** A container's memory as `docker stats` reports it: usage minus inactive file cache. */
async function containerMemory(id: string): Promise<number> {
  const docker = await connectDocker()
  const stats = (await docker.getContainer(id).stats({ stream: false, 'one-shot': true } as { stream: false })) as DockerStats
  const usage = stats.memory_stats?.usage ?? Number.NaN
  const cache = stats.memory_stats?.stats?.inactive_file ?? stats.memory_stats?.stats?.total_inactive_file ?? 0
  return usage - cache
}

async function api(app: WorkerApp, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${app.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`POST ${path}: HTTP ${res.status} ${text.slice(0, 200)}`)
  return JSON.parse(text)
}

interface Density {
  warm: number
  idle: number
  /** process runtime: PSS of the idle worker tree (its fair share of the node binary's pages). */
  idlePss: number
  /** process runtime: private anonymous memory of the idle worker tree. */
  idleAnon: number
  busy: number
}

async function measure(runtime: RuntimeKind, log: (m: string) => void): Promise<Density> {
  const app = await startWorkerApp(runtime, 1, 'density')
  try {
    const rt = await app.supervisor.runtime(runtime)
    const memoryOfWorker = async (workerId: string) => {
      const info = await rt.inspect(workerId)
      if (!info?.running) throw new Error(`worker ${workerId} is not running`)
      return runtime === 'process' ? treeRss(Number(info.nativeId)) : containerMemory(info.nativeId)
    }
    await waitForPool(app, runtime, 1)
    await sleep(IDLE_SETTLE_MS)
    const pooled = (await rt.list()).find((w) => w.running && w.sessionId === null)
    if (!pooled) throw new Error('no warm-pool worker')
    const warm = await memoryOfWorker(pooled.id)

    const { session } = (await api(app, '/api/sessions', { pattern: 'long-running', agent: { model: 'echo' } })) as {
      session: { id: string }
    }
    const deadline = Date.now() + 60_000
    while (!app.supervisor.workerOf(session.id)?.workerId && Date.now() < deadline) await sleep(50)
    const workerId = app.supervisor.workerOf(session.id)?.workerId
    if (!workerId) throw new Error('the session got no worker')
    await sleep(IDLE_SETTLE_MS)
    const idle = await memoryOfWorker(workerId)
    const pid = Number((await rt.inspect(workerId))?.nativeId)
    const idlePss = runtime === 'process' ? treePss(pid) : Number.NaN
    const idleAnon = runtime === 'process' ? treeAnon(pid) : Number.NaN
    if (runtime === 'process') log(`idle worker tree: ${treeBreakdown(pid)}`)

    // Busy: the peak while the echo model streams a long answer through the worker.
    await api(app, `/api/sessions/${session.id}/messages`, { text: BUSY_TEXT })
    let busy = 0
    const busyEnd = Date.now() + 5_000
    while (Date.now() < busyEnd) {
      busy = Math.max(busy, await memoryOfWorker(workerId))
      await sleep(100)
    }
    log(`${runtime}: warm ${(warm / MiB).toFixed(1)} MiB, idle ${(idle / MiB).toFixed(1)} MiB, busy peak ${(busy / MiB).toFixed(1)} MiB`)
    return { warm, idle, idlePss, idleAnon, busy }
  } finally {
    await app.close()
  }
}

export const workerDensity: Scenario = {
  id: 'worker-density',
  title: 'worker density: memory of one echo-agent worker (process: worker + children VmRSS; docker: container usage from Engine stats)',
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    {
      key: 'processIdle',
      label: 'process, idle (claimed, no turn)',
      unit: 'MiB',
      better: 'lower',
      target: { op: '<', value: 50 },
      digits: 1,
    },
    // RSS counts the node binary's ~42 MiB of file-backed pages, shared by every node process on
    // the host; PSS divides them among the processes that map them (the marginal cost per worker).
    { key: 'processIdlePss', label: 'process, idle, PSS', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'processIdleAnon', label: 'process, idle, private anonymous (RssAnon)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'nodeFloor', label: 'bare node after one node:http request, same flags (the floor)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'nodeFloorFetch', label: 'bare node with fetch (undici) loaded, same flags', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'processWarm', label: 'process, warm pool (unclaimed)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'processBusy', label: 'process, busy (peak while streaming)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'dockerIdle', label: 'docker, idle (claimed, no turn)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'dockerWarm', label: 'docker, warm pool (unclaimed)', unit: 'MiB', better: 'lower', digits: 1 },
    { key: 'dockerBusy', label: 'docker, busy (peak while streaming)', unit: 'MiB', better: 'lower', digits: 1 },
  ],
  async run({ log }) {
    const none = { warm: Number.NaN, idle: Number.NaN, idlePss: Number.NaN, idleAnon: Number.NaN, busy: Number.NaN }
    const failed = (runtime: string) => (e: Error) => {
      log(`${runtime} failed: ${e.message}`)
      return none
    }
    const floor = await nodeFloor(false)
    const floorFetch = await nodeFloor(true)
    const p = await measure('process', log).catch(failed('process'))
    const d = (await prepareDocker(log)) ? await measure('docker', log).catch(failed('docker')) : none
    return {
      processIdle: p.idle / MiB,
      processIdlePss: p.idlePss / MiB,
      processIdleAnon: p.idleAnon / MiB,
      nodeFloor: floor / MiB,
      nodeFloorFetch: floorFetch / MiB,
      processWarm: p.warm / MiB,
      processBusy: p.busy / MiB,
      dockerIdle: d.idle / MiB,
      dockerWarm: d.warm / MiB,
      dockerBusy: d.busy / MiB,
    }
  },
}
