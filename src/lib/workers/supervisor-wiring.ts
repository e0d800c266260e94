/**
 * Wires the supervisor into the session layer: `createWorkerCallbacks(options)` is a
 * SessionWorkerCallbacksInput factory for `createTetherServer(config, workers)`. It gets the app's
 * token issuer and public URL from the callback context, and creates the runtimes lazily (the docker
 * runtime connects to the engine and builds the worker image on first use).
 */
import { createHash } from 'node:crypto'
import { join, resolve } from 'node:path'
import type { Logger } from '../common/logger'
import type { WorkerCallbackContext } from '../sessions/worker-callbacks'
import { hostEnv, loadSettings, type WorkersConfig } from '../settings'
import { parseEnv } from '../settings/load'
import { nodeIdentity } from './node-identity'
import { connectDocker, dockerEndpoint } from './docker-engine'
import { ensureWorkerImage } from './image/build'
import type { RuntimeKind, WorkerRuntime } from './runtime'
import { DockerRuntime, workerNetworkFrom, type DockerLimits } from './runtimes/docker'
import { openServerSocket } from './server-socket'
import { ProcessRuntime, workRootFor } from './runtimes/process'
import { WorkerSupervisor, type BackoffPolicy, type RuntimeSource, type SupervisorOptions } from './supervisor'
import { type LeaseState, LeasedWorkerSupervisor, type SessionLeaseOptions } from './supervisor-leases'
import type { ReadinessCheck } from '../ops/readiness'
import type { SessionRecord } from '../sessions/session-types'
import { WorkspaceSnapshots } from './workspaces'
import { workerReadiness } from './readiness'
import { observeRuntimes } from '../ops/metrics-workers'
import { watchHeartbeats } from './health-wiring'

export interface WorkerCallbacksOptions {
  dataDir: string
  /** Default: the settings of this process's environment (src/lib/settings). */
  config?: WorkersConfig
  /** Override the runtimes (tests); default: process always, docker on demand. */
  runtimes?: Partial<Record<RuntimeKind, RuntimeSource>>
  /** Base URL workers use (default: derived from the callback context's writer URL). */
  serverUrl?: string | (() => string | Promise<string>)
  /** Stop every worker when the app closes (default true; false leaves containers running). */
  stopWorkersOnClose?: boolean
  dockerLimits?: Partial<DockerLimits>
  /** Docker network of worker containers (default TETHER_WORKER_NETWORK, else `none`; never `host`). */
  workerNetwork?: string
  backoff?: Partial<BackoffPolicy>
  needsWorker?(session: SessionRecord): boolean
  logger?: Logger
  /** Receives the supervisor once the app has built it (tests, the benchmark). */
  onSupervisor?(supervisor: WorkerSupervisor): void
  /**
   * Several nodes on one database (issue 14): run a session's workers only while this node holds
   * its lease (supervisor-leases.ts). Unset: one node runs every session (SQLite, today).
   */
  leases?: SessionLeaseOptions
}

/**
 * Where workspace snapshots live: TETHER_WORKSPACES_DIR (a volume the nodes share) or the data
 * dir. Never inside the process workers' work root, where an agent's `..` could reach them.
 */
export function snapshotsRoot(dataDir: string, config: WorkersConfig): string {
  const root = resolve(config.snapshots?.dir ?? join(dataDir, 'workspaces'))
  const work = resolve(workRootFor(dataDir, config.workRoot))
  if (root === work || root.startsWith(`${work}/`) || work.startsWith(`${root}/`)) {
    throw new Error(`TETHER_WORKSPACES_DIR (${root}) must not be inside the workers' work root (${work}), nor hold it`)
  }
  return root
}

/** A server's instance id: its data dir, hashed (so two servers never reap each other's containers). */
export function instanceIdFor(dataDir: string): string {
  return createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)
}

/** The default runtimes for a server whose data lives in `dataDir`. */
export function defaultRuntimes(
  dataDir: string,
  config: WorkersConfig,
  dockerLimits: Partial<DockerLimits> = {},
  server: { serverUrl?: WorkerCallbacksOptions['serverUrl']; network?: string; logger?: WorkerCallbacksOptions['logger'] } = {},
): Record<RuntimeKind, RuntimeSource> {
  const network = workerNetworkFrom(server.network ?? config.network)
  const { serverUrl, logger } = server
  return {
    // Work dirs outside the data dir: nothing a command reaches by `..` may lead to the secret.
    process: new ProcessRuntime({
      workRoot: workRootFor(dataDir, config.workRoot),
      ...(config.sandbox ? { sandbox: config.sandbox } : {}),
      ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
    }),
    docker: async (): Promise<WorkerRuntime> => {
      const docker = await connectDocker(config.dockerHost ?? dockerEndpoint())
      const image = config.image ?? (await ensureWorkerImage({ docker })).ref
      // Containers have no network to the host: this socket, mounted into each, is their way here.
      const serverSocket = serverUrl ? await openServerSocket({ target: serverUrl, ...(logger ? { logger } : {}) }) : undefined
      return new DockerRuntime({
        docker,
        image,
        network,
        ...(serverSocket ? { serverSocket } : {}),
        instanceId: instanceIdFor(dataDir),
        limits: {
          ...(config.memoryBytes ? { memoryBytes: config.memoryBytes } : {}),
          ...(config.nanoCpus ? { nanoCpus: config.nanoCpus } : {}),
          ...dockerLimits,
        },
        ...(config.heartbeatMs ? { heartbeatMs: config.heartbeatMs } : {}),
      })
    },
  }
}

/** What the wiring gives the app: the supervisor plus `drain` for SIGTERM and the lease state (null on one node). */
export type WiredSupervisor = WorkerSupervisor & {
  drain(): Promise<void>
  leaseState(): LeaseState | null
  readiness(): Promise<ReadinessCheck[]>
}

export function createWorkerCallbacks(options: WorkerCallbacksOptions): (ctx: WorkerCallbackContext) => WiredSupervisor {
  return (ctx) => {
    const config = options.config ?? loadSettings(hostEnv()).workers
    const serverUrl = options.serverUrl ?? ctx.writerUrl.replace(/\/api\/streams\/?$/, '')
    const supervisorOptions: SupervisorOptions = {
      runtimes: observeRuntimes(
        options.runtimes ??
          defaultRuntimes(options.dataDir, config, options.dockerLimits, {
            serverUrl,
            network: options.workerNetwork,
            ...(options.logger ? { logger: options.logger } : {}),
          }),
        ctx.workerMetrics,
      ),
      defaultRuntime: config.runtime,
      ...(ctx.onWorkerCrashed ? { onWorkerCrashed: ctx.onWorkerCrashed } : {}),
      serverUrl,
      warmPool: config.warmPool,
      issueToken: (sessionId, agentId) => ctx.issueToken({ role: 'worker', sessionId, subject: agentId }),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.needsWorker ? { needsWorker: options.needsWorker } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.stopWorkersOnClose !== undefined ? { stopWorkersOnClose: options.stopWorkersOnClose } : {}),
      // In the data dir or TETHER_WORKSPACES_DIR (never mounted into a sandbox or container), one dir per session.
      workspaces: new WorkspaceSnapshots({
        ...config.snapshots,
        root: snapshotsRoot(options.dataDir, config),
        ...(options.logger ? { logger: options.logger } : {}),
      }),
    }
    // The app passes its lease store when nodes share a database; this node's id and capacity come from its settings.
    const leaseOptions =
      options.leases ??
      (ctx.leaseStore
        ? { store: ctx.leaseStore, ...nodeIdentity(parseEnv(hostEnv())), ...(ctx.sessionOf ? { sessionOf: ctx.sessionOf } : {}) }
        : undefined)
    const leased = leaseOptions ? new LeasedWorkerSupervisor(supervisorOptions, leaseOptions) : null
    const supervisor = leased ?? new WorkerSupervisor(supervisorOptions)
    options.onSupervisor?.(supervisor)
    const health = watchHeartbeats(supervisor, config, options.logger)
    // Readiness sits beside the supervisor rather than in it: it only reads public state.
    const readiness = async () => [
      ...(await workerReadiness(supervisor, config.runtime)),
      ...(leased ? [leaseReadiness(leased.leaseState())] : []),
    ]
    // Bound before the assignment below puts same-named own properties over them.
    const drain = leased ? leased.drain.bind(leased) : () => Promise.resolve()
    const leaseState = leased ? leased.leaseState.bind(leased) : () => null
    return Object.assign(supervisor, {
      readiness,
      ...health,
      /** SIGTERM (src/server/main.ts): hand this node's sessions over; nothing to hand over on one node. */
      drain,
      leaseState,
    })
  }
}

/** The leases' part of `GET /api/ready`: always ok (a full or draining node still serves requests). */
function leaseReadiness(state: LeaseState): ReadinessCheck {
  const { nodeId, capacity, held, draining } = state
  return { name: 'workers:leases', ok: true, detail: `node ${nodeId}: ${held} of ${capacity} sessions${draining ? ', draining' : ''}`, info: { ...state } }
}

/** Callbacks for a server's worker settings (src/lib/settings), or undefined when TETHER_WORKERS=off. */
export function workerCallbacksFromSettings(
  dataDir: string,
  config: WorkersConfig,
  logger?: WorkerCallbacksOptions['logger'],
  leases?: SessionLeaseOptions,
) {
  if (!config.enabled) return undefined
  // Checked here, at start-up, not when the first container starts.
  const workerNetwork = workerNetworkFrom(config.network)
  return createWorkerCallbacks({ dataDir, config, workerNetwork, ...(logger ? { logger } : {}), ...(leases ? { leases } : {}) })
}
