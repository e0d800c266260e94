/**
 * Online backup and restore of the SQLite file (`npm run tether -- backup|restore`).
 *
 * Backup uses SQLite's backup API from a second, read-only connection while the server keeps
 * serving: all pages are copied in ONE step, i.e. inside one read transaction, so the copy is the
 * database as of one instant (WAL readers never block the writer, and the writer never blocks
 * them). Appends acknowledged before the backup started are in it; later ones are not.
 *
 * Restore copies a backup into the data dir's database with the same API, after checking that
 * the backup is a sound Tether database. The server must be stopped: it keeps per-stream tails
 * and per-session folds in memory that a database swapped underneath would contradict.
 */
import { chmodSync, closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import { PRIVATE_FILE_MODE, ensurePrivateDir } from './connection'

/** Tables a database must have to be a Tether backup (streams layer + sessions). */
const REQUIRED_TABLES = ['streams', 'messages', 'sessions', '__drizzle_migrations']

export interface BackupResult {
  file: string
  bytes: number
  streams: number
  /** Copied pages (SQLite page count of the copy). */
  pages: number
  ms: number
}

export class BackupError extends Error {}

/** The database file of a data dir, as the server opens it. */
export function databaseFileOf(dataDir: string): string {
  return join(dataDir, 'tether.db')
}

/** Refuses a file that is not a sound Tether database; answers its number of streams. */
export function checkTetherDatabase(file: string): number {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`)
  let db: Database.Database
  try {
    db = new Database(file, { readonly: true, fileMustExist: true })
  } catch (err) {
    throw new BackupError(`${file} is not an SQLite database: ${(err as Error).message}`)
  }
  try {
    const integrity = db.pragma('quick_check', { simple: true })
    if (integrity !== 'ok') throw new BackupError(`${file} fails SQLite's integrity check: ${String(integrity)}`)
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((t) => t.name),
    )
    const missing = REQUIRED_TABLES.filter((t) => !tables.has(t))
    if (missing.length > 0) throw new BackupError(`${file} is not a Tether database (no ${missing.join(', ')} table)`)
    return (db.prepare('SELECT count(*) AS n FROM streams').get() as { n: number }).n
  } catch (err) {
    if (err instanceof BackupError) throw err
    throw new BackupError(`${file} is not a readable database: ${(err as Error).message}`)
  } finally {
    db.close()
  }
}

/**
 * Copies the live database `source` to `target` (created 0600; an existing file is replaced only
 * when the copy is complete, so a failed backup never destroys the previous one).
 */
export async function backupDatabase(source: string, target: string): Promise<BackupResult> {
  const started = performance.now()
  if (!existsSync(source)) throw new BackupError(`no database at ${source}`)
  const dest = resolve(target)
  if (dest === resolve(source)) throw new BackupError('the backup file may not be the live database')
  const partial = `${dest}.partial`
  rmSync(partial, { force: true })
  // The copy holds everything, webhook signing keys included: owner-only from the first byte.
  closeSync(openSync(partial, 'w', PRIVATE_FILE_MODE))
  chmodSync(partial, PRIVATE_FILE_MODE)
  const db = new Database(source, { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 5000')
    // better-sqlite3's first step copies 0 pages; the answer makes the next step copy all of
    // them: one step, one read transaction, one instant.
    const { totalPages } = await db.backup(partial, { progress: () => 1 << 30 })
    const out = new Database(partial)
    // A standalone file: fold the copy's WAL (if any) into it and leave rollback journaling.
    out.pragma('journal_mode = DELETE')
    out.close()
    chmodSync(partial, PRIVATE_FILE_MODE)
    const streams = checkTetherDatabase(partial)
    renameSync(partial, dest)
    return { file: dest, bytes: statSync(dest).size, streams, pages: totalPages, ms: Math.round(performance.now() - started) }
  } catch (err) {
    rmSync(partial, { force: true })
    throw err
  } finally {
    db.close()
  }
}

/**
 * Replaces the data dir's database with `backupFile`. `isServerRunning` is asked first: a
 * running server would keep serving from memory what the restore just replaced.
 */
export async function restoreDatabase(
  backupFile: string,
  dataDir: string,
  isServerRunning: () => Promise<boolean>,
): Promise<{ file: string; streams: number }> {
  const streams = checkTetherDatabase(backupFile)
  if (await isServerRunning()) throw new BackupError('the server is running: stop it, restore, then start it again')
  const live = databaseFileOf(dataDir)
  ensurePrivateDir(dirname(live))
  const staged = `${live}.restoring`
  rmSync(staged, { force: true })
  closeSync(openSync(staged, 'w', PRIVATE_FILE_MODE))
  const src = new Database(backupFile, { readonly: true, fileMustExist: true })
  try {
    await src.backup(staged, { progress: () => 1 << 30 })
  } finally {
    src.close()
  }
  chmodSync(staged, PRIVATE_FILE_MODE)
  // The old database's WAL and shared memory belong to the old file: drop them with it.
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${live}${suffix}`, { force: true })
  renameSync(staged, live)
  return { file: live, streams }
}
