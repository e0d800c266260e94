// The streams package's public surface, re-exports only: the implementations live in their own
// modules so nothing inside the package imports this file (no barrel cycles).
export {
  createStreamsServer,
  DEFAULT_RETENTION_MS,
  type StreamsServer,
  type StreamsServerOptions,
} from './streams-server'
export { startStreamsHttpServer, type StreamsHttpServer, type StreamsHttpServerOptions } from './http-server'
export type { ReservedRouter, StreamAccess, StreamLifecycleListener } from './seams'
