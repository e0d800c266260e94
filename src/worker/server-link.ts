/**
 * The worker end of the docker runtime's server link. A worker container has no network to the
 * host (NetworkMode none, or an operator's egress network); the server's HTTP arrives instead
 * through a unix socket bind-mounted at TETHER_SERVER_SOCKET (src/lib/workers/server-socket.ts
 * relays it to the app). This module listens on an ephemeral port of the container's own
 * loopback and pipes each connection into that socket, so the rest of the worker (fetch,
 * @durable-streams/client) keeps speaking plain HTTP to a URL and needs no socket support.
 */
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface ServerLink {
  /** `http://127.0.0.1:<port>`: where the server is reachable from this container. */
  readonly origin: string
  close(): Promise<void>
}

export async function startServerLink(socketPath: string): Promise<ServerLink> {
  const open = new Set<Socket>()
  const server: Server = createServer((inbound) => {
    const upstream = connect(socketPath)
    for (const s of [inbound, upstream]) {
      open.add(s)
      s.once('close', () => open.delete(s))
      // A reset on one side closes the other; the HTTP client sees a dropped connection and retries.
      s.on('error', () => {})
    }
    inbound.setNoDelay(true)
    inbound.on('close', () => upstream.destroy())
    upstream.on('close', () => inbound.destroy())
    inbound.pipe(upstream)
    upstream.pipe(inbound)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    // Loopback only: the relay is for this container's own processes.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  if (!address || typeof address !== 'object') throw new Error('the server link has no address')
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy()
        server.close(() => resolve())
      }),
  }
}

/**
 * `serverUrl` with its origin replaced by the link's (the path, if any, is kept): the server's
 * real address means nothing inside the container.
 */
export function throughLink(serverUrl: string, link: Pick<ServerLink, 'origin'>): string {
  const url = new URL(serverUrl)
  const path = url.pathname.replace(/\/+$/, '')
  return `${link.origin}${path}`
}
