import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * One-time admin login codes (src/lib/sessions/login-links.ts), for installs whose nodes share a
 * database: a code minted by one node (or the CLI) is redeemed once on any node. SQLite installs
 * keep the codes in `<dataDir>/login-codes.json`; this table is the PostgreSQL store's, kept in
 * both schemas so they stay twins. Only the sha-256 of a code is stored.
 */
export const loginCodes = sqliteTable('login_codes', {
  /** sha-256 of the code, hex. */
  hash: text('hash').primaryKey(),
  expiresAt: integer('expires_at').notNull(),
  /** 1 once redeemed; kept until a day past expiry so a second use is told "used". */
  used: integer('used').notNull().default(0),
})
