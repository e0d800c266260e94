import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Request budgets shared by every node (src/lib/ops/rate-limit.ts; rate-limiter-flexible's
 * drizzle limiter owns the columns). Used on PostgreSQL only: one node keeps its budgets in
 * memory. Here so the two schemas stay twins (test/lib/db/postgres-schema.test.ts).
 */
export const rateLimits = sqliteTable('rate_limits', {
  key: text('key').primaryKey(),
  points: integer('points').notNull(),
  expire: integer('expire', { mode: 'timestamp_ms' }),
})
