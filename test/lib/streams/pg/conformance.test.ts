import { afterAll, beforeAll } from 'vitest'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { FastResponseClass, serveStreams, type ServedStreams } from '../../../../src/lib/streams/http-server'
import { createPgStreamsServer } from '../../../../src/lib/streams/pg/pg-streams-server'
import { freshDatabase, type TestDatabase } from '../../../support/postgres'

// The official conformance suite against a streams server on PostgreSQL (issue 14): real HTTP
// on loopback, a real PostgreSQL database of its own, subscriptions (the __ds control API)
// included. Loopback webhooks: the suite's receiver is local.
const LONG_POLL_TIMEOUT_MS = 2_000
const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS, subscriptions: true }

let db: TestDatabase
let served: ServedStreams

beforeAll(async () => {
  db = await freshDatabase()
  const streams = await createPgStreamsServer({
    url: db.url,
    basePath: '/v1/stream',
    longPollTimeoutMs: LONG_POLL_TIMEOUT_MS,
    sweepIntervalMs: 500,
    responseClass: FastResponseClass,
    nodeFastPath: true,
    subscriptions: { allowLoopbackWebhooks: true },
  })
  served = await serveStreams(streams)
  config.baseUrl = served.url
}, 120_000)

afterAll(async () => {
  await served?.close()
  await db?.drop()
})

runConformanceTests(config)
