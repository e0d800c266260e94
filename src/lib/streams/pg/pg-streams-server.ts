/**
 * A streams server on PostgreSQL (issue 14): the same protocol handler as the SQLite server
 * (streams-frontend.ts) over the PostgreSQL engine. Several of them on one database serve the
 * same streams; a reader on one is woken by an append on another (pg-engine.ts).
 */
import { openPostgres, type OpenedPostgres } from '../../db/postgres'
import { buildStreamsFrontend, type StreamsCore, type StreamsFrontendOptions } from '../streams-frontend'
import { createPgEngine } from './pg-engine'

export interface PgStreamsServerOptions extends StreamsFrontendOptions {
  /** `postgres://…`; the schema is migrated on open. Or an opened database to share. */
  url?: string
  pg?: OpenedPostgres
}

export interface PgStreamsServer extends StreamsCore {
  pg: OpenedPostgres
  close(): Promise<void>
}

export async function createPgStreamsServer(opts: PgStreamsServerOptions): Promise<PgStreamsServer> {
  if (!opts.pg && !opts.url) throw new Error('createPgStreamsServer needs a url or an opened database')
  const pg = opts.pg ?? (await openPostgres(opts.url!))
  const { core, engine, closeFrontend } = buildStreamsFrontend(opts, (parts) => createPgEngine({ sql: pg.sql, ...parts }))
  await engine.listening
  let closing: Promise<void> | null = null
  return {
    ...core,
    pg,
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
