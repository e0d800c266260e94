/**
 * The session's view checkpoint as the server keeps it (specs/sessions.md, "Checkpoints"), read
 * from the data dir's SQLite file: the session-page bench waits for the monitor's one and checks it
 * is there before it opens the session on a restarted server.
 */
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { decodeOffset } from '../src/lib/streams/offsets'

export interface CheckpointRow {
  offset: string
  bytes: number
}

export function viewCheckpointOf(dataDir: string, sessionId: string): CheckpointRow | null {
  const db = new Database(join(dataDir, 'tether.db'), { readonly: true, fileMustExist: true })
  try {
    const row = db.prepare('SELECT stream_offset AS offset, length(body) AS bytes FROM session_view_checkpoints WHERE session_id = ?').get(sessionId) as
      | CheckpointRow
      | undefined
    return row ?? null
  } finally {
    db.close()
  }
}

/** Appends a checkpoint may trail the tail by once the monitor has stopped saving (it saves again only 2,000 events on). */
const TRAILING_APPENDS = 100
/** The append count of a built-in engine offset. */
const appendsOf = (offset: string) => decodeOffset(offset)?.seq ?? Number.NaN

/**
 * Until the checkpoint is at the stream's tail (the monitor writes it within a tick or two of the
 * last write), or within a few appends of it and unchanged for 3 s: events written after the
 * monitor's save (an accepted-turn record) do not earn another before 2,000 more, as in
 * production (a full run at 22:15Z waited out 120 s for a checkpoint 3 appends behind and failed).
 */
export async function waitForViewCheckpoint(origin: string, token: string, dataDir: string, sessionId: string, timeoutMs = 120_000): Promise<CheckpointRow> {
  const head = await fetch(`${origin}/api/streams/sessions/${sessionId}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })
  const tail = head.headers.get('stream-next-offset')
  if (!tail) throw new Error(`HEAD of the session stream: HTTP ${head.status}, no Stream-Next-Offset`)
  const deadline = Date.now() + timeoutMs
  let seenOffset: string | null = null
  let seenSince = 0
  for (;;) {
    const row = viewCheckpointOf(dataDir, sessionId)
    if (row && row.offset >= tail) return row
    if (row && row.offset !== seenOffset) {
      seenOffset = row.offset
      seenSince = Date.now()
    }
    if (row && appendsOf(tail) - appendsOf(row.offset) < TRAILING_APPENDS && Date.now() - seenSince > 3_000) return row
    if (Date.now() > deadline) throw new Error(`no view checkpoint at ${tail} after ${timeoutMs} ms (have ${row?.offset ?? 'none'}); is the monitor on?`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
