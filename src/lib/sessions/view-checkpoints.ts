/**
 * Where session view checkpoints are kept (session-views.ts): the `session_view_checkpoints`
 * table, on SQLite and on PostgreSQL with the same statements. A save keeps the newer of two
 * checkpoints (offsets sort as the stream does), so two nodes or a late background save never
 * move a checkpoint back. A row in another format, or one that does not parse, is ignored (the
 * view is then read from the stream). Rows go with their session (foreign key, ON DELETE CASCADE).
 */
import type Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { z } from 'zod'
import type { ViewCheckpoint } from './session-view'

export interface ViewCheckpointStore {
  load(sessionId: string): Promise<ViewCheckpoint | null>
  save(sessionId: string, checkpoint: ViewCheckpoint): Promise<void>
}

/** Bumped whenever what a checkpoint holds changes meaning: older rows are then ignored. */
export const VIEW_CHECKPOINT_FORMAT = 1

const bodySchema = z.object({
  // Each event is checked as the view reads it (SessionViewState.fromCheckpoint skips others).
  events: z.array(z.unknown()),
  omittedMessages: z.array(z.string()),
  terminalOmitted: z.boolean(),
})

interface Row {
  stream_offset: string
  format: number
  body: string
}

function fromRow(row: Row | undefined): ViewCheckpoint | null {
  if (!row || Number(row.format) !== VIEW_CHECKPOINT_FORMAT) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(row.body)
  } catch {
    return null
  }
  const body = bodySchema.safeParse(parsed)
  if (!body.success) return null
  return { offset: row.stream_offset, ...body.data, events: body.data.events as ViewCheckpoint['events'] }
}

const bodyOf = ({ offset: _offset, ...rest }: ViewCheckpoint) => JSON.stringify(rest)

const SELECT = 'SELECT stream_offset, format, body FROM session_view_checkpoints WHERE session_id = '
/** Insert, or replace an older one (a save never moves a session's checkpoint back). */
const UPSERT = `INSERT INTO session_view_checkpoints (session_id, stream_offset, format, body, saved_at) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (session_id) DO UPDATE SET stream_offset = excluded.stream_offset, format = excluded.format, body = excluded.body, saved_at = excluded.saved_at
  WHERE excluded.stream_offset >= session_view_checkpoints.stream_offset OR excluded.format <> session_view_checkpoints.format`

export function sqliteViewCheckpoints(sqlite: Database.Database, now: () => number = Date.now): ViewCheckpointStore {
  const select = sqlite.prepare<[string], Row>(`${SELECT}?`)
  const upsert = sqlite.prepare(UPSERT.replace(/\$\d/g, '?'))
  return {
    async load(sessionId) {
      return fromRow(select.get(sessionId))
    },
    async save(sessionId, checkpoint) {
      upsert.run(sessionId, checkpoint.offset, VIEW_CHECKPOINT_FORMAT, bodyOf(checkpoint), now())
    },
  }
}

export function pgViewCheckpoints(sql: Sql, now: () => number = Date.now): ViewCheckpointStore {
  return {
    async load(sessionId) {
      const rows = await sql.unsafe<Row[]>(`${SELECT}$1`, [sessionId])
      return fromRow(rows[0])
    },
    async save(sessionId, checkpoint) {
      await sql.unsafe(UPSERT, [sessionId, checkpoint.offset, VIEW_CHECKPOINT_FORMAT, bodyOf(checkpoint), now()])
    },
  }
}
