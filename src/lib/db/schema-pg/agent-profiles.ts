import { bigint, doublePrecision, index, jsonb, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * Personal agent profiles (issue #11; specs/accounts.md, Personal agents): what a person's agent
 * runs (adapter, provider, model, prompt, tools, default limits) and their own provider credential.
 * The credential is never stored in the clear: AES-256-GCM ciphertext, its IV and auth tag
 * (src/lib/accounts/credential-cipher.ts; the key is a file in the data dir, not in this database,
 * so a copy of the database alone reveals nothing). All three are null when no credential is set.
 */
export const agentProfiles = pgTable(
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
    allowedTools: jsonb('allowed_tools').$type<string[]>(),
    maxBudgetUsd: doublePrecision('max_budget_usd'),
    maxTurns: bigint('max_turns', { mode: 'number' }),
    credentialCiphertext: text('credential_ciphertext'),
    credentialIv: text('credential_iv'),
    credentialTag: text('credential_tag'),
    credentialUpdatedAt: bigint('credential_updated_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('agent_profiles_user_idx').on(t.userId)],
)

export type AgentProfileRow = typeof agentProfiles.$inferSelect
