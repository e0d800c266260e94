/** The configuration front door: the list (schema.ts), its parser (load.ts), the worker's (worker.ts). */
export { VARIABLES, type Reader, type Variable, type VariableName } from './schema'
export {
  loadSettings,
  gatewaySettings,
  type Env,
  type Settings,
  type ServerSettings,
  type StreamsSettings,
  type SessionsConfig,
  type WorkersConfig,
  type GatewayConfig,
} from './load'
export {
  loadWorkerSettings,
  WORKER_VARIABLES,
  type WorkerIdentity,
  type WorkerSettings,
  type WorkerProgramSettings,
} from './worker-settings'
export { hostEnv } from './host-env'
