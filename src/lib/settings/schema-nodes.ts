/**
 * The variables of a node among several on one database (issue 14: session leases,
 * src/lib/workers/supervisor-leases.ts), spread into VARIABLES (schema.ts) where README lists them.
 * Each entry has the shape of schema.ts's `Variable` (not imported: the two modules would import each other).
 */
import { z } from 'zod'

const count = z.string().regex(/^\d+$/, 'must be a non-negative integer').transform(Number)

export const NODE_VARIABLES = {
  TETHER_NODE_ID: {
    type: z
      .string()
      .regex(/^[\w.:@-]{1,128}$/, 'must be 1-128 letters, digits or . : @ _ -')
      .optional(),
    default: '`<hostname>:<port>:<random>`',
    doc: "this node's id in the session lease table when several nodes share `TETHER_DATABASE_URL` (issue 14, specs/workers.md); a fixed id (e.g. the pod name) makes a restarted node release its earlier leases at start",
    readers: ['server'] as const,
  },
  TETHER_NODE_CAPACITY: {
    type: count.optional(),
    default: 'memory / `TETHER_WORKER_MEMORY_MB`',
    doc: 'sessions whose workers this node runs at once (placement sends new sessions to the node with the most free capacity); default: as many worker memory limits (512 MiB) as the machine has memory',
    readers: ['server'] as const,
  },
  TETHER_WORKSPACES_DIR: {
    type: z.string().startsWith('/', 'must be an absolute path').optional(),
    default: '`<data dir>/workspaces`',
    doc: "where workspace snapshots live; with several nodes (`TETHER_DATABASE_URL`) a volume every node mounts, so the node that takes a session over seeds its worker with the files of the last finished turn and a fork on any node finds its snapshot. Never inside the workers' work root",
    readers: ['server'] as const,
  },
}
