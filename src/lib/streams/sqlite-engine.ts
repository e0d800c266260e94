/**
 * The SQLite engine (the embedded default): reads come from StreamStore synchronously, writes
 * run in the WriteQueue's group commit through StreamWriter, expiry in the background sweeper.
 */
import type Database from 'better-sqlite3'
import type { StreamEngine } from './engine'
import type { EngineParts } from './streams-frontend'
import { startExpirySweeper } from './expiry'
import { StreamStore } from './stream-store'
import { StreamWriter } from './stream-writer'
import { WriteQueue } from './write-queue'
import { isExpired } from './write-specs'

export interface SqliteEngineOptions extends EngineParts {
  sqlite: Database.Database
}

export interface SqliteEngine extends StreamEngine {
  readonly store: StreamStore
  readonly queue: WriteQueue
}

export function createSqliteEngine(o: SqliteEngineOptions): SqliteEngine {
  const store = new StreamStore(o.sqlite)
  const queue = new WriteQueue(
    o.sqlite,
    o.log,
    (ops) => {
      o.hub.publish()
      for (const l of o.listeners) l.onBatchCommitted?.(ops)
    },
    () => store.forgetAll(),
  )
  const writer = new StreamWriter(o.sqlite, store, queue, o.hub, o.listeners, {
    defaultRetentionMs: o.defaultRetentionMs,
    hasLiveReaders: o.hasLiveReaders,
    log: o.log,
  })
  const sweeper = startExpirySweeper({
    sqlite: o.sqlite,
    intervalMs: o.sweepIntervalMs === 0 ? 2 ** 31 - 1 : o.sweepIntervalMs,
    runWrite: (fn) => queue.enqueue(fn),
    log: o.log,
    expire: (ids, now) =>
      queue.enqueue(() => {
        let n = 0
        for (const id of ids) {
          const meta = store.getById(id)
          if (!meta || meta.softDeleted || !isExpired(meta, now) || o.hasLiveReaders(id)) continue
          writer.expire(meta)
          n++
        }
        return n
      }),
  })

  return {
    store,
    queue,
    get: (path) => store.get(path),
    getById: (id) => store.getById(id),
    readBoundary: (meta, from, maxBytes) => store.readBoundary(meta, from, maxBytes),
    readConcat: (meta, afterSeq, throughSeq) => store.readConcat(meta, afterSeq, throughSeq),
    listLivePaths: (now) => store.listLivePaths(now),
    create: (spec, now) => queue.enqueue(() => writer.create(spec, now)),
    // StreamWriter.append refuses (requireLive, planAppend) before it writes anything.
    append: (spec, now) => queue.enqueue(() => writer.append(spec, now), { refusesBeforeWriting: true }),
    delete: (path, now) => queue.enqueue(() => writer.delete(path, now)),
    touch: (meta, now) => queue.enqueue(() => writer.touch(meta, now)),
    sweepExpired: (now) => sweeper.sweep(now),
    async close() {
      sweeper.stop()
      queue.close()
    },
  }
}
