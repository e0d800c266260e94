import { bigint, pgTable, text } from 'drizzle-orm/pg-core'
import { sessions } from './sessions'

/**
 * Per session, the checkpoint of its view (src/lib/sessions/session-views.ts, view-checkpoints.ts):
 * what the session page's opening answer needs at `offset`, so a node that does not hold the view
 * reads only the stream after it. A cache: the stream stays the truth. Goes with its session.
 */
export const sessionViewCheckpoints = pgTable('session_view_checkpoints', {
  sessionId: text('session_id')
    .primaryKey()
    .references(() => sessions.id, { onDelete: 'cascade' }),
  /** The stream offset the checkpoint is at (offsets sort as the stream does). */
  offset: text('stream_offset').notNull(),
  /** VIEW_CHECKPOINT_FORMAT when written: another one is ignored. */
  format: bigint('format', { mode: 'number' }).notNull(),
  /** JSON: SessionViewState.checkpoint() without the offset. */
  body: text('body').notNull(),
  savedAt: bigint('saved_at', { mode: 'number' }).notNull(),
})
