import { afterAll, beforeAll } from 'vitest'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { startProductionServer, type ProductionServer } from '../support/production-server'

// The official conformance suite once more, this time through the production build: srvx →
// TanStack Start's /v1/stream/$ route (the protocol's conventional mount of the same streams as
// /api/streams/) → the app's auth gate (off here) → the streams handler. The suite appends
// /v1/stream/<name> to baseUrl, and its subscription tests assume that stream root.
const LONG_POLL_TIMEOUT_MS = 2_000
const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS, subscriptions: true }

let server: ProductionServer

beforeAll(async () => {
  server = await startProductionServer({
    TETHER_AUTH: 'off',
    TETHER_LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS),
    TETHER_ALLOW_LOOPBACK_WEBHOOKS: '1',
  })
  config.baseUrl = server.url
})

afterAll(async () => {
  await server?.dispose()
})

runConformanceTests(config)
