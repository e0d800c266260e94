import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * Personal agent profiles (issue #11; specs/accounts.md, Personal agents): what a person's agent
 * runs (adapter, provider, model, prompt, tools, default limits) and their own provider credential.
 * The credential is never stored in the clear: AES-256-GCM ciphertext, its IV and auth tag
 * (src/lib/accounts/credential-cipher.ts; the key is a file in the data dir, not in this database,
 * so a copy of the database alone reveals nothing). All three are null when no credential is set.
 */
export const agentProfiles = sqliteTable(
  'agent_profiles',
  {
    id: text('id').primaryKey(),
    userId: text('user_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    adapter: text('adapter').notNull(),
    provider: text('provider'),
    model: text('model'),
    systemPrompt: text('system_prompt'),
    /** JSON array of tool names; null = the adapter's default tools. */
    allowedTools: text('allowed_tools', { mode: 'json' }).$type<string[]>(),
    maxBudgetUsd: real('max_budget_usd'),
    maxTurns: integer('max_turns'),
    credentialCiphertext: text('credential_ciphertext'),
    credentialIv: text('credential_iv'),
    credentialTag: text('credential_tag'),
    credentialUpdatedAt: integer('credential_updated_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('agent_profiles_user_idx').on(t.userId)],
)

export type AgentProfileRow = typeof agentProfiles.$inferSelect
