/**
 * `tsx bench/sqlite-commit-micro.ts [appends per commit=1] [streams=1000] [shared]`
 * `CKPT=<pages>` sets wal_autocheckpoint (0 = never); `PAGE=<bytes>` creates the file with that
 * page_size first (SQLite's default is 4096).
 *
 * What one group commit of appends costs in SQLite alone (no HTTP): the real schema and pragmas
 * (openDatabase, exclusive locking unless `shared`), 20,000 appends of 200 bytes to random streams
 * among `streams`, `k` per transaction, with and without a savepoint per append. Prints µs per
 * append, per commit, and the worst commit (checkpoints and the box's stalls show there).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openDatabase } from '../src/lib/db/connection'

const k = Number(process.argv[2] ?? 1)
const streams = Number(process.argv[3] ?? 1000)
const exclusive = process.argv[4] !== 'shared'
const dir = mkdtempSync(join(tmpdir(), 'tether-commit-micro-'))
if (process.env.PAGE) {
  const pre = new Database(join(dir, 's.db'))
  pre.pragma(`page_size = ${Number(process.env.PAGE)}`)
  pre.exec('CREATE TABLE page_size_probe (x); DROP TABLE page_size_probe')
  pre.close()
}
const db = openDatabase({ file: join(dir, 's.db'), durability: 'normal', exclusive })
const s = db.sqlite
if (process.env.CKPT) s.pragma(`wal_autocheckpoint = ${process.env.CKPT}`)
const ins = s.prepare(
  `INSERT INTO streams (path, content_type, json_mode, created_at, last_access_at, tail_seq, tail_pos) VALUES (?, 'application/json', 1, 0, 0, 0, 0)`,
)
for (let i = 0; i < streams; i++) ins.run(`p${i}`)
const row = s.prepare(`INSERT INTO messages (stream_id, seq, end_pos, count, data) VALUES (?, ?, ?, ?, ?)`)
const seqs = new Array<number>(streams + 1).fill(0)
const data = Buffer.alloc(200, 120)
const sp = s.transaction((f: () => void) => f())
const tx = s.transaction((n: number, savepoints: boolean) => {
  for (let i = 0; i < n; i++) {
    const id = 1 + Math.floor(Math.random() * streams)
    const f = () => {
      seqs[id]!++
      row.run(id, seqs[id], seqs[id]! * 200, 1, data)
    }
    if (savepoints) sp(f)
    else f()
  }
})
for (const savepoints of [true, false]) {
  const total = 20_000
  const t0 = performance.now()
  let worst = 0
  for (let done = 0; done < total; done += k) {
    const t = performance.now()
    tx(k, savepoints)
    worst = Math.max(worst, performance.now() - t)
  }
  const ms = performance.now() - t0
  console.log(
    `k=${k} streams=${streams} ${exclusive ? 'exclusive' : 'shared'} ckpt=${process.env.CKPT ?? 'default'} page=${s.pragma('page_size', { simple: true })} savepoints=${savepoints}: ` +
      `${((ms * 1000) / total).toFixed(1)} µs/append, ${((ms * 1000 * k) / total).toFixed(1)} µs/commit, worst commit ${worst.toFixed(1)} ms`,
  )
}
db.close()
rmSync(dir, { recursive: true, force: true })
