/**
 * Storage (issue #13): bytes on disk per 200-byte message after 1,000 streams x 1,000 messages,
 * written round-robin over the streams (like many live sessions) in JSON-array batches of 100
 * (flattened into single messages by the server, so the stored shape is one message per row).
 *
 * "On disk" = the apparent size of every file in the server's data dir after the server has
 * stopped (SIGTERM: SQLite checkpoints the WAL on the last close) and, for ours, after one more
 * `wal_checkpoint(TRUNCATE)` from here: the database, its indexes and whatever WAL is left. Our
 * server holds the file with `locking_mode = EXCLUSIVE`, so nothing can checkpoint it while it
 * runs. Ours also logs where the bytes are (SQLite's dbstat: table vs index pages, fill).
 * The in-memory reference has no files and is not run.
 */
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { append, createStreams, forEachLimited, makePool } from '../http'
import { MESSAGE_BYTES, makeBatch } from '../messages'
import { now } from '../stats'
import { launches, makeDataDir, removeDataDir, startServer, type RunningServer, type ServerKind } from '../servers'
import type { MetricValues, Scenario } from './types'

const BATCH = 100

/** Apparent and allocated bytes of every file under `dir`. */
function filesUnder(dir: string): { bytes: number; allocated: number; files: number } {
  let bytes = 0
  let allocated = 0
  let files = 0
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath, entry.name)
    const st = statSync(path)
    bytes += st.size
    allocated += st.blocks * 512
    files++
  }
  return { bytes, allocated, files }
}

/** Where an SQLite file's bytes are: per table / index, payload vs unused, from dbstat. */
function sqliteBreakdown(file: string): string {
  const db = new Database(file)
  try {
    db.pragma('wal_checkpoint(TRUNCATE)')
    const rows = db
      .prepare<[], { name: string; pages: number; bytes: number; payload: number; unused: number }>(
        `SELECT name, COUNT(*) AS pages, SUM(pgsize) AS bytes, SUM(payload) AS payload, SUM(unused) AS unused
           FROM dbstat GROUP BY name ORDER BY bytes DESC LIMIT 4`,
      )
      .all()
    return rows
      .map(
        (r) =>
          `${r.name}: ${(r.bytes / 1e6).toFixed(1)} MB in ${r.pages} pages, payload ${(r.payload / 1e6).toFixed(1)} MB, unused ${(r.unused / 1e6).toFixed(1)} MB`,
      )
      .join('; ')
  } catch (err) {
    return `no dbstat: ${(err as Error).message}`
  } finally {
    db.close()
  }
}

export const storage: Scenario = {
  id: 'storage',
  title: 'storage after 1,000 streams x 1,000 messages of 200 B (files after stop + checkpoint)',
  repeats: 1,
  // fsync stores the same file as normal: not run twice.
  servers: ['ours-normal', 'ref-file'],
  metrics: [
    {
      key: 'perMessage',
      label: 'bytes on disk per 200-byte message',
      unit: 'B',
      better: 'lower',
      target: { op: '<=', value: 1.5 * MESSAGE_BYTES },
      digits: 0,
    },
    { key: 'ratio', label: 'on disk ÷ payload', unit: 'x', better: 'lower', target: { op: '<=', value: 1.5, text: '<= 1.5x' }, digits: 2 },
    { key: 'totalMiB', label: 'data dir total', unit: 'MiB', better: 'lower', digits: 1 },
    // If the fill failed in part, the figures above are per stored message but for less data.
    { key: 'fillFailedPct', label: 'fill appends failed', unit: '%', better: 'lower', target: { op: '<=', value: 0 }, digits: 1 },
  ],
  async run({ kind, quick, log }) {
    // A server of its own (same kind, same launch): it is stopped before measuring, and the
    // runner's server must stay up for the runner's CPU accounting.
    const dataDir = makeDataDir('tether-bench-storage-')
    const server = await startServer(launches[kind], { dataDir, runner: 'compiled' })
    try {
      return await fillAndMeasure(server, kind, quick, log)
    } finally {
      await server.stop()
      removeDataDir(dataDir)
    }
  },
}

async function fillAndMeasure(server: RunningServer, kind: ServerKind, quick: boolean, log: (m: string) => void): Promise<MetricValues> {
  const streams = quick ? 200 : 1000
  const perStream = 1000
  const pool = makePool(server.origin, 32)
  const paths = await createStreams(pool, server.streamPath, `storage-${process.pid}`, streams)
  const batchesPerStream = perStream / BATCH
  const t0 = now()
  let failed = 0
  await forEachLimited(streams * batchesPerStream, 32, async (i) => {
    const stream = i % streams
    const batch = Math.floor(i / streams)
    const reply = await append(pool, paths[stream], makeBatch(stream, batch * BATCH, BATCH))
    if (reply.status >= 300) failed++
  })
  await pool.close()
  // Every message sent, failed appends included: the reference's 404s still land in its logs
  // (each stream's log holds all 1,000 messages), so "stored" cannot be told from the replies.
  const stored = streams * perStream
  log(`filled ${streams} x ${perStream} messages in ${((now() - t0) / 1000).toFixed(1)} s, ${failed} batch appends failed`)
  const running = filesUnder(server.dataDir)
  log(`while running: ${(running.bytes / 1e6).toFixed(1)} MB in ${running.files} files`)
  await server.stop()
  const db = join(server.dataDir, 'streams.db') // src/server/streams-main.ts
  if (kind.startsWith('ours')) log(existsSync(db) ? sqliteBreakdown(db) : `no ${db}`)
  const after = filesUnder(server.dataDir)
  log(`after stop + checkpoint: ${after.bytes} B apparent, ${after.allocated} B allocated, ${after.files} files`)
  return {
    perMessage: after.bytes / stored,
    ratio: after.bytes / stored / MESSAGE_BYTES,
    totalMiB: after.bytes / 1024 / 1024,
    fillFailedPct: (100 * failed) / (streams * batchesPerStream),
  }
}
