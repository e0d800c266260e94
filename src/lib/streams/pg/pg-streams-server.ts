/**
 * A streams server on PostgreSQL (issue 14): the same protocol handler as the SQLite server
 * (streams-frontend.ts) over the PostgreSQL engine. Several of them on one database serve the
 * same streams; a reader on one is woken by an append on another (pg-engine.ts).
 */
import { openPostgres, type OpenedPostgres } from '../../db/postgres'
import type { StreamCompaction } from '../compaction'
import type { StreamAccess } from '../seams'
import { appendPlain, describeStream } from '../stream-access'
import { buildStreamsFrontend, type StreamsCore, type StreamsFrontendOptions } from '../streams-frontend'
import type { SubscriptionsSettings } from '../subscriptions'
import { createPgEngine } from './pg-engine'
import { createPgSubscriptions } from './pg-subscriptions'

export interface PgStreamsServerOptions extends StreamsFrontendOptions {
  /** `postgres://…`; the schema is migrated on open. Or an opened database to share. */
  url?: string
  pg?: OpenedPostgres
  /** Durable Streams subscriptions (`__ds/…`), shared by every node of the database (default on); false leaves them out. */
  subscriptions?: SubscriptionsSettings | false
}

export interface PgStreamsServer extends StreamsCore {
  pg: OpenedPostgres
  access: StreamAccess
  /** Rewrites a JSON stream's stored rows by a planner's verdict (session compaction). */
  compactor: StreamCompaction
  close(): Promise<void>
}

export async function createPgStreamsServer(opts: PgStreamsServerOptions): Promise<PgStreamsServer> {
  if (!opts.pg && !opts.url) throw new Error('createPgStreamsServer needs a url or an opened database')
  const pg = opts.pg ?? (await openPostgres(opts.url!))
  const { core, engine, closeFrontend } = buildStreamsFrontend(opts, (parts) => createPgEngine({ sql: pg.sql, ...parts }))
  await engine.listening
  const access: StreamAccess = {
    describe: async (path) => describeStream(await engine.get(path), Date.now()),
    listPaths: () => engine.listLivePaths(Date.now()),
    append: (path, body, contentType) => appendPlain(engine, path, body, contentType),
  }
  if (opts.subscriptions !== false) {
    const subscriptions = await createPgSubscriptions({ ...opts.subscriptions, pg, access, log: opts.subscriptions?.log ?? opts.logger })
    core.setReserved(subscriptions)
    core.addListener(subscriptions)
  }
  let closing: Promise<void> | null = null
  return {
    ...core,
    pg,
    access,
    compactor: engine.compactor,
    close() {
      closing ??= (async () => {
        closeFrontend()
        await engine.close()
        if (!opts.pg) await pg.close()
      })()
      return closing
    },
  }
}
