import { FastResponse, serve } from 'srvx/node'
import { createStreamsServer, type StreamsServer, type StreamsServerOptions } from './streams-server'
import type { StreamsCore } from './streams-frontend'

export interface StreamsHttpServerOptions extends Omit<StreamsServerOptions, 'basePath'> {
  port?: number
  host?: string
  /** Defaults to '/v1/stream' (the conformance suite's layout). */
  basePath?: string
  /** An already created streams server to serve (otherwise one is created from the options). */
  streams?: StreamsServer
}

export interface ServedStreams {
  /** Origin, e.g. http://127.0.0.1:43121 (streams live under `${url}${basePath}/`). */
  url: string
  close(): Promise<void>
}

export interface StreamsHttpServer extends ServedStreams {
  streams: StreamsServer
}

// Why the cast: FastResponse implements the Response surface the handler uses (constructor,
// status, headers, body) but not the static error()/redirect() helpers.
export const FastResponseClass = FastResponse as unknown as typeof Response

/** Serves any streams server (SQLite or PostgreSQL) over HTTP with srvx; close() closes it too. */
export async function serveStreams(streams: StreamsCore, opts: { port?: number; host?: string } = {}): Promise<ServedStreams> {
  const host = opts.host ?? '127.0.0.1'
  const server = serve({
    fetch: (req) => streams.handle(req),
    port: opts.port ?? 0,
    hostname: host,
    silent: true,
    gracefulShutdown: false,
    node: { keepAliveTimeout: 65_000, requestTimeout: 0 },
  })
  await server.ready()
  const address = server.node?.server?.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  return {
    url: `http://${host}:${port}`,
    async close() {
      await streams.close()
      await server.close(true)
    },
  }
}

/** Serves the protocol handler over HTTP with srvx (tests, `npm run streams`, benchmarks). */
export async function startStreamsHttpServer(opts: StreamsHttpServerOptions = {}): Promise<StreamsHttpServer> {
  const streams =
    opts.streams ??
    createStreamsServer({ responseClass: FastResponseClass, nodeFastPath: true, ...opts, basePath: opts.basePath ?? '/v1/stream' })
  const served = await serveStreams(streams, opts)
  return { ...served, streams }
}
