import { bigint, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * One-time admin login codes (src/lib/sessions/login-codes-pg.ts): a code minted by one node (or
 * the CLI) is redeemed once on any node, claimed with one UPDATE … WHERE used = 0 RETURNING.
 * Only the sha-256 of a code is stored.
 */
export const loginCodes = pgTable('login_codes', {
  /** sha-256 of the code, hex. */
  hash: text('hash').primaryKey(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  /** 1 once redeemed; kept until a day past expiry so a second use is told "used". */
  used: bigint('used', { mode: 'number' }).notNull().default(0),
})
