import type Database from 'better-sqlite3'
import { openDatabase, type Durability, type OpenedDatabase } from '../db/connection'
import type { SyncStreamAccess } from './seams'
import { createSqliteEngine } from './sqlite-engine'
import { appendPlain, describeStream } from './stream-access'
import { StreamCompactor } from './compaction'
import { buildStreamsFrontend, type StreamsCore, type StreamsFrontendOptions } from './streams-frontend'

export type { StreamAccess, SyncStreamAccess, StreamLifecycleListener, ReservedRouter } from './seams'

export interface StreamsServerOptions extends StreamsFrontendOptions {
  /** An opened database (shared with other modules), or a file to open (WAL, migrations applied). */
  db?: OpenedDatabase | Database.Database
  file?: string
  durability?: Durability
  /** Open `file` with locking_mode=EXCLUSIVE (sole user of the file; see openDatabase). */
  exclusive?: boolean
}

export interface StreamsServer extends StreamsCore {
  access: SyncStreamAccess
  /** The underlying SQLite handle (shared with modules that keep their own tables). */
  sqlite: Database.Database
  /** Rewrites a JSON stream's stored rows by a planner's verdict (session compaction). */
  compactor: StreamCompactor
  close(): void
}

export { DEFAULT_RETENTION_MS } from './streams-frontend'

/** WAL pages between automatic checkpoints on a connection that hosts streams. */
export const WAL_AUTOCHECKPOINT_PAGES = 16_000

function isOpened(db: OpenedDatabase | Database.Database): db is OpenedDatabase {
  return 'sqlite' in db && 'close' in db && 'db' in db
}

export function createStreamsServer(opts: StreamsServerOptions): StreamsServer {
  let owned: OpenedDatabase | undefined
  let sqlite: Database.Database
  if (opts.db) sqlite = isOpened(opts.db) ? opts.db.sqlite : opts.db
  else {
    owned = openDatabase({ file: opts.file ?? ':memory:', durability: opts.durability, exclusive: opts.exclusive })
    sqlite = owned.sqlite
  }

  // Checkpoints run inside a commit, on this thread, and fsync: with appends spread over many
  // streams (a page per append) they were about half of the SQLite time at the connection's
  // 4,000-page default (specs/benchmarks.md, 2026-11-29 write path). Four times fewer of them; the
  // WAL may reach ~64 MiB before it restarts.
  sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`)
  const { core, engine, closeFrontend } = buildStreamsFrontend(opts, (parts) => createSqliteEngine({ sqlite, ...parts }))
  const { store, queue } = engine

  const access: SyncStreamAccess = {
    describe: (path) => describeStream(store.get(path), Date.now()),
    listPaths: () => store.listLivePaths(Date.now()),
    append: (path, body, contentType) => appendPlain(engine, path, body, contentType),
  }

  let closed = false
  return {
    ...core,
    access,
    sqlite,
    compactor: new StreamCompactor(sqlite, store, queue),
    close() {
      if (closed) return
      closed = true
      void engine.close()
      closeFrontend()
      owned?.close()
    },
  }
}
