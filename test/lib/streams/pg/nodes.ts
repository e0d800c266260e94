/**
 * Several streams nodes on one fresh PostgreSQL database, each served over real HTTP on
 * loopback, for the cross-node tests in this folder. `startPgNodes` in a beforeAll, `close` in
 * the afterAll.
 */
import { FastResponseClass, serveStreams, type ServedStreams } from '../../../../src/lib/streams/http-server'
import { createPgStreamsServer, type PgStreamsServer, type PgStreamsServerOptions } from '../../../../src/lib/streams/pg/pg-streams-server'
import { freshDatabase, type TestDatabase } from '../../../support/postgres'

export interface PgNodes {
  db: TestDatabase
  servers: PgStreamsServer[]
  served: ServedStreams[]
  /** The URL of `path` under node `node`'s `/v1/stream/`. */
  url(node: number, path: string): string
  close(): Promise<void>
}

export async function startPgNodes(count: number, options: Partial<PgStreamsServerOptions> = {}): Promise<PgNodes> {
  const db = await freshDatabase()
  const servers: PgStreamsServer[] = []
  const served: ServedStreams[] = []
  for (let i = 0; i < count; i++) {
    const streams = await createPgStreamsServer({
      url: db.url,
      basePath: '/v1/stream',
      responseClass: FastResponseClass,
      nodeFastPath: true,
      ...options,
    })
    servers.push(streams)
    served.push(await serveStreams(streams))
  }
  return {
    db,
    servers,
    served,
    url: (node, path) => `${served[node]!.url}/v1/stream/${path}`,
    async close() {
      for (const n of served) await n.close()
      await db.drop()
    },
  }
}
