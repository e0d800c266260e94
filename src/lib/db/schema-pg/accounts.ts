import { bigint, boolean, index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core'

/**
 * People who signed in through an identity provider (src/lib/accounts; specs/accounts.md). One row
 * per (provider, subject): the provider's stable id for the person, never the email, which can change
 * or be reused. `email` is kept only as the provider asserted it; `emailVerified` says whether it
 * vouched for it (only verified emails make admins or match invites).
 */
export const users = pgTable(
  'users',
  {
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    subject: text('subject').notNull(),
    email: text('email'),
    emailVerified: boolean('email_verified').notNull().default(false),
    name: text('name'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    lastSignInAt: bigint('last_sign_in_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('users_provider_subject_idx').on(t.provider, t.subject), index('users_email_idx').on(t.email)],
)

/**
 * Signed-in browsers: the cookie holds a random id, this table its SHA-256 (a database copy
 * cannot sign anyone in). Deleting the row signs that browser out at once.
 */
export const accountSessions = pgTable(
  'account_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    userId: text('user_id').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('account_sessions_user_idx').on(t.userId)],
)

/** People invited to a session by account, with their role there (the owner is sessions.created_by). */
export const sessionMembers = pgTable(
  'session_members',
  {
    sessionId: text('session_id').notNull(),
    userId: text('user_id').notNull(),
    role: text('role', { enum: ['viewer', 'collaborator'] }).notNull(),
    addedBy: text('added_by').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.userId] }), index('session_members_user_idx').on(t.userId)],
)

/**
 * Personal API keys: `tk_<random>` shown once, stored as its SHA-256. Optionally scoped to one
 * session and a role no higher than the owner's there.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    keyHash: text('key_hash').notNull(),
    /** The key's first characters, so a person can tell keys apart in the list. */
    prefix: text('prefix').notNull(),
    sessionId: text('session_id'),
    role: text('role', { enum: ['viewer', 'collaborator'] }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash), index('api_keys_user_idx').on(t.userId)],
)

export type UserRow = typeof users.$inferSelect
export type ApiKeyRow = typeof apiKeys.$inferSelect
export type MemberRow = typeof sessionMembers.$inferSelect
