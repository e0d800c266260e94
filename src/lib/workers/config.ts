/**
 * Worker configuration from the environment:
 *   TETHER_WORKERS            on | off (default on): start agent workers for sessions
 *   TETHER_WORKER_RUNTIME     process | docker (default process); a session may pick its own with
 *                             metadata.workerRuntime
 *   TETHER_WARM_POOL_SIZE     idle workers kept ready for the default runtime (default: process 0,
 *                             docker 2); TETHER_WARM_POOL_SIZE_PROCESS / _DOCKER set one runtime
 *   TETHER_WORKER_HEARTBEAT_MS  agent-state heartbeat interval (default 3000)
 *   TETHER_WORKER_MEMORY_MB / TETHER_WORKER_CPUS  docker limits (default 512 MB, 1 CPU)
 *   TETHER_WORKER_IMAGE       use this image (e.g. from src/worker/Dockerfile) instead of building one
 *   DOCKER_HOST               the engine (default /var/run/docker.sock, then /run/tether-docker.sock)
 */
import { createHash } from 'node:crypto'
import { resolve } from 'node:path'
import { z } from 'zod'
import type { RuntimeKind } from './runtime'

const positiveInt = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number).optional()

const envSchema = z.object({
  TETHER_WORKERS: z.enum(['on', 'off']).default('on'),
  TETHER_WORKER_RUNTIME: z.enum(['process', 'docker']).default('process'),
  TETHER_WARM_POOL_SIZE: positiveInt,
  TETHER_WARM_POOL_SIZE_PROCESS: positiveInt,
  TETHER_WARM_POOL_SIZE_DOCKER: positiveInt,
  TETHER_WORKER_HEARTBEAT_MS: positiveInt,
  TETHER_WORKER_MEMORY_MB: positiveInt,
  TETHER_WORKER_CPUS: z.string().regex(/^\d+(\.\d+)?$/).transform(Number).optional(),
  TETHER_WORKER_IMAGE: z.string().min(1).optional(),
})

export interface WorkersConfig {
  enabled: boolean
  runtime: RuntimeKind
  warmPool: Partial<Record<RuntimeKind, number>>
  heartbeatMs?: number
  memoryBytes?: number
  nanoCpus?: number
  /** Use this image as is (e.g. built from src/worker/Dockerfile) instead of building one. */
  image?: string
}

export function loadWorkersConfig(env: NodeJS.ProcessEnv = process.env): WorkersConfig {
  const parsed = envSchema.safeParse(env)
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    throw new Error(`Invalid worker configuration: ${reasons}`)
  }
  const e = parsed.data
  const warmPool: Partial<Record<RuntimeKind, number>> = {}
  if (e.TETHER_WARM_POOL_SIZE !== undefined) warmPool[e.TETHER_WORKER_RUNTIME] = e.TETHER_WARM_POOL_SIZE
  if (e.TETHER_WARM_POOL_SIZE_PROCESS !== undefined) warmPool.process = e.TETHER_WARM_POOL_SIZE_PROCESS
  if (e.TETHER_WARM_POOL_SIZE_DOCKER !== undefined) warmPool.docker = e.TETHER_WARM_POOL_SIZE_DOCKER
  return {
    enabled: e.TETHER_WORKERS === 'on',
    runtime: e.TETHER_WORKER_RUNTIME,
    warmPool,
    ...(e.TETHER_WORKER_HEARTBEAT_MS ? { heartbeatMs: e.TETHER_WORKER_HEARTBEAT_MS } : {}),
    ...(e.TETHER_WORKER_MEMORY_MB ? { memoryBytes: e.TETHER_WORKER_MEMORY_MB * 1024 * 1024 } : {}),
    ...(e.TETHER_WORKER_CPUS ? { nanoCpus: Math.round(e.TETHER_WORKER_CPUS * 1e9) } : {}),
    ...(e.TETHER_WORKER_IMAGE ? { image: e.TETHER_WORKER_IMAGE } : {}),
  }
}

/** A server's instance id: its data dir, hashed (so two servers never reap each other's containers). */
export function instanceIdFor(dataDir: string): string {
  return createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)
}
