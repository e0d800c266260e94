/**
 * Workspace snapshots for forks (issue #10): how long copying a worker's work dir out (at a
 * turn's end, while the agent waits) and seeding a new worker from it take, per runtime, for a
 * work dir of 200 files of 50 kB (10 MB). Runs the runtimes directly (no server): an idle worker
 * gets the files, then WorkspaceSnapshots.take and a seeded start are timed. Not a streams-server
 * measurement: runs once, on ours.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dockerClient } from '../../src/lib/workers/docker-engine'
import { ensureWorkerImage } from '../../src/lib/workers/image/build'
import type { WorkerRuntime } from '../../src/lib/workers/runtime'
import { DockerRuntime } from '../../src/lib/workers/runtimes/docker'
import { ProcessRuntime } from '../../src/lib/workers/runtimes/process'
import { tarOf } from '../../src/lib/workers/workspace-copy'
import { WorkspaceSnapshots } from '../../src/lib/workers/workspaces'
import type { Scenario } from './types'

const FILES = 200
const FILE_BYTES = 50_000

function fillDir(dir: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true })
  for (let i = 0; i < FILES; i++) writeFileSync(join(dir, 'src', `f${i}.txt`), randomBytes(FILE_BYTES / 2).toString('hex'))
}

async function measure(runtime: WorkerRuntime, fill: (workerId: string, workDir: string) => Promise<void>, samples: number) {
  const root = mkdtempSync(join(tmpdir(), 'tether-bench-ws-'))
  const snapshots = new WorkspaceSnapshots({ root, keep: samples + 1 })
  const worker = await runtime.start()
  const snap: number[] = []
  const seed: number[] = []
  try {
    await fill(worker.id, worker.workDir)
    for (let i = 1; i <= samples; i++) {
      const t0 = performance.now()
      await snapshots.take('bench', i, (dest, max) => runtime.snapshotWorkspace!(worker.id, dest, max))
      snap.push(performance.now() - t0)
      const t1 = performance.now()
      const seeded = await runtime.start(undefined, { seedFrom: snapshots.dirOf('bench', i) })
      seed.push(performance.now() - t1)
      await runtime.stop(seeded.id, { graceMs: 1_000 })
    }
  } finally {
    await runtime.stop(worker.id, { graceMs: 1_000 })
    rmSync(root, { recursive: true, force: true })
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
  return { snapshot: median(snap), seededStart: median(seed) }
}

export const workspaceSnapshot: Scenario = {
  id: 'workspace-snapshot',
  title: `workspace snapshot (copy out at a turn's end) and seeded worker start, ${FILES} files × ${FILE_BYTES / 1000} kB (median)`,
  repeats: 1,
  servers: ['ours-normal'],
  metrics: [
    { key: 'processSnapshot', label: 'process snapshot', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'processSeed', label: 'process seeded start', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'dockerSnapshot', label: 'docker snapshot', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'dockerSeed', label: 'docker seeded start', unit: 'ms', better: 'lower', digits: 0 },
  ],
  async run({ quick, log }) {
    const samples = quick ? 3 : 5
    const work = mkdtempSync(join(tmpdir(), 'tether-bench-work-'))
    const processRuntime = new ProcessRuntime({ workRoot: work, sandbox: 'off' })
    const proc = await measure(processRuntime, async (_id, dir) => fillDir(dir), samples)
    rmSync(work, { recursive: true, force: true })
    log(`process: snapshot ${proc.snapshot.toFixed(0)} ms, seeded start ${proc.seededStart.toFixed(0)} ms`)
    let dock = { snapshot: Number.NaN, seededStart: Number.NaN }
    try {
      const docker = dockerClient()
      const image = (await ensureWorkerImage({ docker })).ref
      const dockerRuntime = new DockerRuntime({ docker, image, instanceId: `bench-${randomBytes(4).toString('hex')}` })
      const files = mkdtempSync(join(tmpdir(), 'tether-bench-files-'))
      fillDir(files)
      const fill = async (id: string) => {
        await docker.getContainer(id).putArchive(tarOf(files), { path: '/work' })
      }
      dock = await measure(dockerRuntime, fill, samples)
      rmSync(files, { recursive: true, force: true })
      await dockerRuntime.close()
      log(`docker: snapshot ${dock.snapshot.toFixed(0)} ms, seeded start ${dock.seededStart.toFixed(0)} ms`)
    } catch (err) {
      log(`docker: not measured (${err instanceof Error ? err.message : String(err)})`)
    }
    return { processSnapshot: proc.snapshot, processSeed: proc.seededStart, dockerSnapshot: dock.snapshot, dockerSeed: dock.seededStart }
  },
}
