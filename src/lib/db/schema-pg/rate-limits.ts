import { bigint, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/**
 * Request budgets shared by every node (src/lib/ops/rate-limit.ts): one row per budget key,
 * written by rate-limiter-flexible's drizzle limiter (its column names and a Date `expire`).
 */
export const rateLimits = pgTable('rate_limits', {
  key: text('key').primaryKey(),
  points: bigint('points', { mode: 'number' }).notNull(),
  expire: timestamp('expire', { mode: 'date', precision: 3 }),
})
