import { bigint, index, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * Per-user quota overrides set by an admin (src/lib/accounts/quotas*.ts; specs/accounts.md,
 * "Quotas and rate limits"). `limits` is a JSON object: a key with a number is that limit, a key
 * with null is "unlimited", a key left out falls back to the server's default (TETHER_QUOTA_*).
 * One JSON column keeps that three-way choice without a sentinel number.
 */
export const userQuotas = pgTable('user_quotas', {
  userId: text('user_id').primaryKey(),
  limits: text('limits').notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  updatedBy: text('updated_by').notNull(),
})

/**
 * One row per session a person created (create or fork), written when the quota check lets it
 * through. Kept after the session row is deleted (ephemeral clean-up, admin DELETE), so deleting
 * sessions neither resets the day's count nor hides the month's model spend.
 */
export const userSessionStarts = pgTable(
  'user_session_starts',
  {
    sessionId: text('session_id').primaryKey(),
    userId: text('user_id').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('user_session_starts_user_idx').on(t.userId, t.createdAt)],
)

export type UserQuotaRow = typeof userQuotas.$inferSelect
