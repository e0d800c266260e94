import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll } from 'vitest'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'
import { createSubscriptions } from '../../../src/lib/streams/subscriptions'

// The official Durable Streams server conformance suite against our server: real HTTP on
// loopback, a real SQLite file, a short long-poll timeout so the timeout tests run quickly.
const LONG_POLL_TIMEOUT_MS = 2_000
const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS, subscriptions: true }

let server: StreamsHttpServer
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-conformance-'))
  server = await startStreamsHttpServer({
    file: join(dir, 'streams.db'),
    longPollTimeoutMs: LONG_POLL_TIMEOUT_MS,
    sweepIntervalMs: 500,
  })
  // Subscriptions hang off the store through the seams: the __ds router plus a lifecycle
  // listener, sharing the store's SQLite file. Loopback webhooks: the suite's receiver is local.
  const subscriptions = createSubscriptions({
    access: server.streams.access,
    db: server.streams.sqlite,
    allowLoopbackWebhooks: true,
  })
  server.streams.setReserved(subscriptions)
  server.streams.addListener(subscriptions)
  config.baseUrl = server.url
})

afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

runConformanceTests(config)
