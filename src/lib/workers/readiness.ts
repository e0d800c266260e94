/**
 * The workers' part of `GET /api/ready` (src/lib/ops/readiness.ts): for each runtime this server
 * uses, whether it answers now (for docker: the Engine API lists our containers) and what it runs
 * (workers serving sessions, idle warm ones). A runtime that has not been needed yet and is not the
 * default is not started by a readiness probe.
 */
import type { ReadinessCheck } from '../ops/readiness'
import type { RuntimeKind, WorkerRuntime } from './runtime'
import type { WorkerSupervisor } from './supervisor'

const PROBE_TIMEOUT_MS = 3_000

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export async function runtimeReadiness(supervisor: WorkerSupervisor, kind: RuntimeKind): Promise<ReadinessCheck> {
  const name = `workers:${kind}`
  let runtime: WorkerRuntime
  try {
    runtime = await withTimeout(supervisor.runtime(kind), `the ${kind} runtime`)
  } catch (err) {
    return { name, ok: false, detail: `the ${kind} runtime is not available: ${(err as Error).message}` }
  }
  try {
    const workers = await withTimeout(runtime.list(), `the ${kind} runtime`)
    const serving = workers.filter((w) => w.running && w.sessionId !== null).length
    const warm = workers.filter((w) => w.running && w.sessionId === null).length
    const pool = supervisor.pool(kind)
    return {
      name,
      ok: true,
      detail: `${serving} serving, ${warm} warm`,
      info: { serving, warm, exited: workers.length - serving - warm, poolTarget: pool?.size ?? 0, poolAvailable: pool?.available ?? 0 },
    }
  } catch (err) {
    return { name, ok: false, detail: `the ${kind} runtime does not answer: ${(err as Error).message}` }
  }
}

/** Checks for the default runtime and every runtime with a warm pool (i.e. already in use). */
export async function workerReadiness(supervisor: WorkerSupervisor, defaultRuntime: RuntimeKind): Promise<ReadinessCheck[]> {
  const pooled = (['process', 'docker'] as const).filter((kind) => supervisor.pool(kind) !== undefined)
  const kinds = [...new Set<RuntimeKind>([defaultRuntime, ...pooled])]
  return Promise.all(kinds.map((kind) => runtimeReadiness(supervisor, kind)))
}
