/** Agent workers: runtimes (process, docker), the supervisor and warm pool, the image builder. */
export type { RuntimeKind, WorkerClaim, WorkerExit, WorkerInfo, WorkerRuntime, LogOptions } from './runtime'
export { RUNTIME_KINDS, FORWARDED_ENV_KEYS } from './runtime'
export { ProcessRuntime, type ProcessRuntimeOptions } from './runtimes/process'
export {
  DockerRuntime,
  containerNameFor,
  CONTAINER_PREFIX,
  LABELS,
  DEFAULT_DOCKER_LIMITS,
  type DockerRuntimeOptions,
  type DockerLimits,
} from './runtimes/docker'
export {
  WorkerSupervisor,
  DEFAULT_WARM_POOL,
  DEFAULT_BACKOFF,
  DEFAULT_AGENT_ID,
  defaultNeedsWorker,
  runtimeFor,
  type SupervisorOptions,
} from './supervisor'
export { WarmPool } from './warm-pool'
export {
  createWorkerCallbacks,
  workerCallbacksFromSettings,
  defaultRuntimes,
  instanceIdFor,
  type WorkerCallbacksOptions,
} from './supervisor-wiring'
export { connectDocker, dockerEndpoint, DockerUnavailableError } from './docker-engine'
export { ensureWorkerImage, WORKER_IMAGE_REPO, type WorkerImage } from './image/build'
export { bundleWorker } from './image/bundle'
