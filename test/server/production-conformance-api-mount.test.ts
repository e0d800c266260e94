import { afterAll, beforeAll } from 'vitest'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { startProductionServer, type ProductionServer } from '../support/production-server'

// The official conformance suite through the app's own mount: the suite's base URL is
// `<server>/api/streams`, so every request goes to `/api/streams/v1/stream/<name>` through the
// /api/streams gate, and the paths it puts in `Stream-Forked-From` (`/v1/stream/<name>`) and its
// subscription patterns must name the same streams (issue #10: 80 of 338 failed here before).
const LONG_POLL_TIMEOUT_MS = 2_000
const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS, subscriptions: true }

let server: ProductionServer

beforeAll(async () => {
  server = await startProductionServer({
    TETHER_AUTH: 'off',
    TETHER_LONG_POLL_TIMEOUT_MS: String(LONG_POLL_TIMEOUT_MS),
    TETHER_ALLOW_LOOPBACK_WEBHOOKS: '1',
  })
  config.baseUrl = `${server.url}/api/streams`
})

afterAll(async () => {
  await server?.dispose()
})

runConformanceTests(config)
