/**
 * Keeps each session stream's snapshot (see snapshot.ts) in IndexedDB, keyed by stream URL, so a
 * reloaded page shows the session at once and resumes reading at the snapshot's offset. Every
 * failure here (no IndexedDB, private mode, quota) degrades to "no cache": the stream is then
 * read from the start, which is always correct, only slower.
 */
import type { StreamSnapshot } from './snapshot'

const DB_NAME = 'tether-stream-cache'
const STORE = 'snapshots'

let dbPromise: Promise<IDBDatabase | undefined> | undefined

/**
 * Opens the cache, creating its store. A database of that name without the store (someone else
 * opened the name first, e.g. a test reading the cache before the page wrote to it) is upgraded
 * to a version that has it, instead of leaving every save failing.
 */
function openVersion(version: number | undefined, resolve: (db: IDBDatabase | undefined) => void): void {
  try {
    const request = version === undefined ? indexedDB.open(DB_NAME) : indexedDB.open(DB_NAME, version)
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE)
    }
    request.onsuccess = () => {
      const db = request.result
      if (db.objectStoreNames.contains(STORE)) return resolve(db)
      const next = db.version + 1
      db.close()
      openVersion(next, resolve)
    }
    request.onerror = () => resolve(undefined)
    request.onblocked = () => resolve(undefined)
  } catch {
    resolve(undefined)
  }
}

function openDb(): Promise<IDBDatabase | undefined> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(undefined)
  dbPromise ??= new Promise((resolve) => openVersion(undefined, resolve))
  return dbPromise
}

/** Opens the cache ahead of the first save (a page that opened from the view reads nothing from it). */
export function warmSnapshotCache(): void {
  void openDb()
}

function run<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  return openDb().then(
    (db) =>
      new Promise<T | undefined>((resolve) => {
        if (!db) return resolve(undefined)
        try {
          const tx = db.transaction(STORE, mode)
          const request = op(tx.objectStore(STORE))
          tx.oncomplete = () => resolve(request.result)
          tx.onerror = () => resolve(undefined)
          tx.onabort = () => resolve(undefined)
        } catch {
          resolve(undefined)
        }
      }),
  )
}

function isSnapshot(value: unknown): value is StreamSnapshot {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.offset === 'string' && Array.isArray(v.events)
}

export async function loadSnapshot(streamUrl: string): Promise<StreamSnapshot | undefined> {
  const value = await run('readonly', (store) => store.get(streamUrl) as IDBRequest<unknown>)
  return isSnapshot(value) ? value : undefined
}

export async function saveSnapshot(streamUrl: string, snapshot: StreamSnapshot): Promise<void> {
  await run('readwrite', (store) => store.put(snapshot, streamUrl))
}

export async function deleteSnapshot(streamUrl: string): Promise<void> {
  await run('readwrite', (store) => store.delete(streamUrl))
}
