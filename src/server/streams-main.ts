/**
 * `npm run streams`: the bare Durable Streams server (no app), for development, conformance
 * runs and benchmarks. Streams under /v1/stream/, SQLite file in TETHER_DATA_DIR.
 */
import { join } from 'node:path'
import { loadConfig } from '../lib/config'
import { startStreamsHttpServer } from '../lib/streams'
import { createSubscriptions } from '../lib/streams/subscriptions'

const config = loadConfig()
const server = await startStreamsHttpServer({
  port: config.PORT,
  host: config.HOST,
  basePath: '/v1/stream',
  file: join(config.TETHER_DATA_DIR, 'streams.db'),
  durability: config.TETHER_DURABILITY,
  // This process is the file's only user: skip per-transaction file locking.
  exclusive: true,
  longPollTimeoutMs: config.TETHER_LONG_POLL_TIMEOUT_MS,
  maxBodyBytes: config.TETHER_MAX_BODY_BYTES,
  defaultRetentionMs: config.TETHER_RETENTION_DAYS === 0 ? null : config.TETHER_RETENTION_DAYS * 24 * 3600 * 1000,
})
const subscriptions = createSubscriptions({
  access: server.streams.access,
  db: server.streams.sqlite,
  allowLoopbackWebhooks: config.TETHER_ALLOW_LOOPBACK_WEBHOOKS,
})
server.streams.setReserved(subscriptions)
server.streams.addListener(subscriptions)

console.log(`tether streams: ${server.url}/v1/stream/ (data ${config.TETHER_DATA_DIR}, durability ${config.TETHER_DURABILITY})`)

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
