/**
 * `npm run streams`: the bare Durable Streams server (no app), for development, conformance
 * runs and benchmarks. Streams under /v1/stream/, in a SQLite file in TETHER_DATA_DIR, or in
 * PostgreSQL when TETHER_DATABASE_URL is set (several such nodes may share one database).
 */
import { join } from 'node:path'
import { loadSettings } from '../lib/settings'
import { startStreamsHttpServer } from '../lib/streams'
import { FastResponseClass, serveStreams, type ServedStreams } from '../lib/streams/http-server'
import { createPgStreamsServer } from '../lib/streams/pg/pg-streams-server'
import { createSubscriptions } from '../lib/streams/subscriptions'

const settings = loadSettings(process.env)
const config = settings.streams
const common = {
  basePath: '/v1/stream',
  longPollTimeoutMs: config.longPollTimeoutMs,
  maxBodyBytes: config.maxBodyBytes,
  defaultRetentionMs: config.defaultRetentionMs,
  sseLimits: { maxBufferBytes: config.sseMaxBufferBytes, slowGraceMs: config.sseSlowGraceMs },
}

async function startOnSqlite(): Promise<ServedStreams> {
  const server = await startStreamsHttpServer({
    ...common,
    port: settings.server.port,
    host: settings.server.host,
    file: join(config.dataDir, 'streams.db'),
    durability: config.durability,
    // This process is the file's only user: skip per-transaction file locking.
    exclusive: true,
  })
  const subscriptions = createSubscriptions({
    access: server.streams.access,
    db: server.streams.sqlite,
    allowLoopbackWebhooks: config.allowLoopbackWebhooks,
  })
  server.streams.setReserved(subscriptions)
  server.streams.addListener(subscriptions)
  console.log(`tether streams: ${server.url}/v1/stream/ (data ${config.dataDir}, durability ${config.durability})`)
  return server
}

async function startOnPostgres(url: string): Promise<ServedStreams> {
  const streams = await createPgStreamsServer({
    ...common,
    url,
    responseClass: FastResponseClass,
    nodeFastPath: true,
    subscriptions: { allowLoopbackWebhooks: config.allowLoopbackWebhooks },
  })
  const server = await serveStreams(streams, { port: settings.server.port, host: settings.server.host })
  console.log(`tether streams: ${server.url}/v1/stream/ (PostgreSQL ${new URL(url).host}${new URL(url).pathname})`)
  return server
}

const server = config.databaseUrl ? await startOnPostgres(config.databaseUrl) : await startOnSqlite()

let stopping = false
async function stop(signal: string) {
  if (stopping) return
  stopping = true
  console.log(`tether streams: ${signal}, shutting down`)
  await server.close()
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))
