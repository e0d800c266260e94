/**
 * Child-process entry for the reference Durable Streams server (@durable-streams/server 0.3.7),
 * so the benchmark measures its CPU and RSS apart from the load generator.
 *
 *   tsx bench/reference-server.ts                 in-memory store
 *   REFERENCE_DATA_DIR=/tmp/x tsx bench/...       file-backed store (LMDB + fsynced logs)
 *
 * Listens on PORT (0 = ephemeral) / HOST and prints `listening <url>` on stdout once ready.
 */
import { DurableStreamTestServer } from '@durable-streams/server'

const dataDir = process.env.REFERENCE_DATA_DIR || undefined
const server = new DurableStreamTestServer({
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
  dataDir,
  longPollTimeout: Number(process.env.LONG_POLL_TIMEOUT_MS ?? 30_000),
})
const url = await server.start()
console.log(`listening ${url}`)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void server.stop().finally(() => process.exit(0))
  })
}
