/**
 * A warm worker's rehearsal of a claim's network path, while it waits (issue #13, warm claim).
 *
 * A claimed worker's first heartbeat waits for one stream read and one append. Run for the first
 * time, that code (the streams client, http-fetch, the producer, the web streams they load) is
 * compiled and loaded on the spot: step timing (bench/claim-steps.ts) showed the catch-up read
 * taking ~170 ms on a process worker that had never made a request, against ~60 ms on a docker
 * worker that had warmed up through its server link. The rehearsal reads and appends once against
 * a throwaway server on this process's own loopback, so no runtime needs the server's address
 * before the claim, and the server never sees a request without a token.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { stream } from '@durable-streams/client'
import { httpFetch } from './http-fetch'
import { Publisher } from './publisher'

/** Reads a one-item stream and appends one event to it; never throws. */
export async function rehearseClaimPath(): Promise<void> {
  const server = createServer((req, res) => {
    req.resume()
    req.once('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-type': 'application/json', 'stream-next-offset': '1', 'stream-up-to-date': 'true' }).end('[{"type":"rehearsal"}]')
      } else res.writeHead(200, { 'stream-next-offset': '2' }).end()
    })
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rehearsal`
    const signal = AbortSignal.timeout(2_000)
    const read = await stream<unknown>({ url, offset: '-1', live: false, json: true, fetch: httpFetch, signal, warnOnHttp: false })
    read.subscribeJson(() => {})
    await read.closed
    const publisher = new Publisher({ streamUrl: url, token: 'rehearsal', agentId: 'rehearsal', epoch: Date.now(), onFatal: () => {} })
    publisher.publish('agent-state', { id: 'rehearsal' })
    await publisher.flush()
    await publisher.detach()
  } catch {
    // A rehearsal that fails costs the claim only the warm-up it would have given.
  } finally {
    server.closeAllConnections()
    server.close()
  }
}
