/**
 * This node's identity and capacity in the session lease table (issue 14, supervisor-leases.ts),
 * from TETHER_NODE_ID and TETHER_NODE_CAPACITY (src/lib/settings/schema.ts).
 *
 * The default id is `<hostname>:<port>:<random>`, new in every process: a restarted node never
 * claims the leases of its previous process (those lapse and are swept). The default capacity is
 * how many workers at their memory limit (TETHER_WORKER_MEMORY_MB, 512 MiB) the machine's memory
 * holds: a node past it would swap or meet the OOM killer.
 */
import { randomBytes } from 'node:crypto'
import { hostname, totalmem } from 'node:os'

const DEFAULT_WORKER_MEMORY_BYTES = 512 * 1024 * 1024

export interface NodeIdentitySettings {
  TETHER_NODE_ID?: string | undefined
  TETHER_NODE_CAPACITY?: number | undefined
  TETHER_WORKER_MEMORY_MB?: number | undefined
  PORT?: number | undefined
}

export function nodeIdentity(env: NodeIdentitySettings, machine = { hostname: hostname(), memoryBytes: totalmem() }): { nodeId: string; capacity: number } {
  const nodeId = env.TETHER_NODE_ID || `${machine.hostname}:${env.PORT ?? 3000}:${randomBytes(4).toString('hex')}`
  const perWorker = env.TETHER_WORKER_MEMORY_MB ? env.TETHER_WORKER_MEMORY_MB * 1024 * 1024 : DEFAULT_WORKER_MEMORY_BYTES
  const capacity = env.TETHER_NODE_CAPACITY ?? Math.max(1, Math.floor(machine.memoryBytes / perWorker))
  return { nodeId, capacity }
}
