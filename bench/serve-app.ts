/** The in-process benches' server: a fetch handler (the app) served by srvx on a free loopback port. */
import { serve } from 'srvx/node'

export interface ServedApp {
  origin: string
  /** Closes the listener and its open connections (not the app). */
  close(): Promise<void>
}

export async function serveOnLoopback(fetch: (req: Request) => Response | Promise<Response>): Promise<ServedApp> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
  await server.ready()
  const address = server.node?.server?.address()
  if (!address || typeof address !== 'object') throw new Error('no address')
  return {
    origin: `http://127.0.0.1:${address.port}`,
    close: async () => {
      await server.close(true)
    },
  }
}
