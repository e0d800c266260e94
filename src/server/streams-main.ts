/**
 * `npm run streams`: the bare Durable Streams server (no app), for development, conformance
 * runs and benchmarks. Streams under /v1/stream/, SQLite file in TETHER_DATA_DIR.
 */
import { join } from 'node:path'
import { loadSettings } from '../lib/settings'
import { startStreamsHttpServer } from '../lib/streams'
import { createSubscriptions } from '../lib/streams/subscriptions'

const settings = loadSettings(process.env)
const config = settings.streams
const server = await startStreamsHttpServer({
  port: settings.server.port,
  host: settings.server.host,
  basePath: '/v1/stream',
  file: join(config.dataDir, 'streams.db'),
  durability: config.durability,
  // This process is the file's only user: skip per-transaction file locking.
  exclusive: true,
  longPollTimeoutMs: config.longPollTimeoutMs,
  maxBodyBytes: config.maxBodyBytes,
  defaultRetentionMs: config.defaultRetentionMs,
  sseLimits: { maxBufferBytes: config.sseMaxBufferBytes, slowGraceMs: config.sseSlowGraceMs },
})
const subscriptions = createSubscriptions({
  access: server.streams.access,
  db: server.streams.sqlite,
  allowLoopbackWebhooks: config.allowLoopbackWebhooks,
})
server.streams.setReserved(subscriptions)
server.streams.addListener(subscriptions)

console.log(`tether streams: ${server.url}/v1/stream/ (data ${config.dataDir}, durability ${config.durability})`)

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
