/**
 * The official conformance suite with `subscriptions: true` against our real server (SQLite
 * file, HTTP on loopback) with the subscriptions module mounted the way the app mounts it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runConformanceTests } from '@durable-streams/server-conformance-tests'
import { afterAll, beforeAll } from 'vitest'
import { createStreamsServer, startStreamsHttpServer, type StreamsHttpServer } from '../../../../src/lib/streams'
import { createSubscriptions } from '../../../../src/lib/streams/subscriptions'

const LONG_POLL_TIMEOUT_MS = 2_000
const config = { baseUrl: '', longPollTimeoutMs: LONG_POLL_TIMEOUT_MS, subscriptions: true }

let server: StreamsHttpServer
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tether-subs-conformance-'))
  const streams = createStreamsServer({
    file: join(dir, 'streams.db'),
    basePath: '/v1/stream',
    longPollTimeoutMs: LONG_POLL_TIMEOUT_MS,
    sweepIntervalMs: 500,
  })
  // The suite's webhook receivers listen on 127.0.0.1.
  const subs = createSubscriptions({ access: streams.access, db: streams.sqlite, allowLoopbackWebhooks: true })
  streams.addListener(subs)
  streams.setReserved(subs)
  server = await startStreamsHttpServer({ streams })
  config.baseUrl = server.url
})

afterAll(async () => {
  await server?.close()
  rmSync(dir, { recursive: true, force: true })
})

runConformanceTests(config)
