import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'

export type Durability = 'normal' | 'fsync'

export interface OpenDatabaseOptions {
  /** SQLite file path, or ':memory:'. */
  file: string
  /** normal: WAL + synchronous=NORMAL (survives process crash); fsync: synchronous=FULL (survives power loss). */
  durability?: Durability
  /** Folder of drizzle migrations; defaults to the repository's drizzle/. */
  migrationsFolder?: string
  /**
   * locking_mode=EXCLUSIVE: this connection keeps the file locked (no other connection or
   * process may open it while it runs) and skips per-transaction file locking, ~20% cheaper
   * writes. Only for a process that is the file's sole user (`npm run streams`).
   */
  exclusive?: boolean
}

export interface OpenedDatabase {
  sqlite: Database.Database
  db: BetterSQLite3Database
  file: string
  durability: Durability
  /** Where the migrations came from (readiness compares the journal with what was applied). */
  migrationsFolder: string
  close(): void
}

/** The repository's drizzle/ folder: next to the sources, or under the working directory when bundled. */
function defaultMigrationsFolder(): string {
  const besideSources = resolve(dirname(fileURLToPath(import.meta.url)), '../../../drizzle')
  return existsSync(besideSources) ? besideSources : resolve(process.cwd(), 'drizzle')
}

/**
 * Owner-only modes, set with chmod rather than trusted to the creation mode: mkdir/open modes
 * are masked by the umask, and an install from before these modes keeps whatever it had. The
 * database holds every session and the webhook signing keys (ds_signing_keys).
 */
export const PRIVATE_DIR_MODE = 0o700
export const PRIVATE_FILE_MODE = 0o600

/** Creates `dir` (and parents) if needed and makes it owner-only. Only for directories Tether owns. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  chmodSync(dir, PRIVATE_DIR_MODE)
}

/**
 * Makes the database file owner-only before SQLite opens it. SQLite creates its -wal and -shm
 * files with the main file's mode (unix VFS: robust_open copies it and fchmods past the umask),
 * so those follow; existing ones from an older install are fixed here too.
 */
function makeDatabaseFilesPrivate(file: string): void {
  const dir = dirname(file)
  // A folder we create is ours; an existing one may be shared (the caller owns making it private).
  if (!existsSync(dir)) ensurePrivateDir(dir)
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE))
  for (const path of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) {
    if (existsSync(path)) chmodSync(path, PRIVATE_FILE_MODE)
  }
}

/** Opens (creating if needed) the SQLite file, sets pragmas and applies pending migrations. */
export function openDatabase(opts: OpenDatabaseOptions): OpenedDatabase {
  const durability = opts.durability ?? 'normal'
  if (opts.file !== ':memory:' && opts.file !== '') makeDatabaseFilesPrivate(resolve(opts.file))
  const sqlite = new Database(opts.file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma(`synchronous = ${durability === 'fsync' ? 'FULL' : 'NORMAL'}`)
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  // Keep the WAL from growing without bound under constant writes; checkpoints are cheap in WAL.
  sqlite.pragma('wal_autocheckpoint = 4000')
  sqlite.pragma('temp_store = MEMORY')
  if (opts.exclusive) sqlite.pragma('locking_mode = EXCLUSIVE')
  // A bounded page cache (negative = KiB): enough for hot tails, small enough for the RSS budget.
  sqlite.pragma('cache_size = -8000')
  const db = drizzle(sqlite)
  const migrationsFolder = opts.migrationsFolder ?? defaultMigrationsFolder()
  migrate(db, { migrationsFolder })
  let closed = false
  return {
    sqlite,
    db,
    file: opts.file,
    durability,
    migrationsFolder,
    close() {
      if (closed) return
      closed = true
      sqlite.close()
    },
  }
}
