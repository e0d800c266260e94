import { index, integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/**
 * One row per Tether session. The session's events live in its stream (`sessions/<id>`); this
 * row holds the lifecycle (pattern, status, limits) and a cache of usage folded from the stream
 * (refreshed by the writer and the monitor; the stream stays the truth).
 */
export const sessions = sqliteTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    pattern: text('pattern', { enum: ['ephemeral', 'long-running', 'hybrid', 'single-container'] }).notNull(),
    status: text('status', { enum: ['active', 'idle', 'completed', 'failed', 'terminated'] }).notNull(),
    title: text('title'),
    /** JSON: model, provider, systemPrompt, allowedTools. */
    agentConfig: text('agent_config').notNull().default('{}'),
    /** JSON: the agent list (issue #15; `[]` = the single agent of agent_config) and its routing. */
    agents: text('agents').notNull().default('[]'),
    agentRouting: text('agent_routing').notNull().default('{}'),
    /** JSON string map. */
    metadata: text('metadata').notNull().default('{}'),
    maxIdleTimeMs: integer('max_idle_time_ms'),
    maxLifetimeMs: integer('max_lifetime_ms'),
    maxBudgetUsd: real('max_budget_usd'),
    maxTurns: integer('max_turns'),
    tokensIn: integer('tokens_in').notNull().default(0),
    tokensOut: integer('tokens_out').notNull().default(0),
    costUsd: real('cost_usd').notNull().default(0),
    turns: integer('turns').notNull().default(0),
    lastActivityAt: integer('last_activity_at'),
    createdBy: text('created_by'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    endedAt: integer('ended_at'),
    endReason: text('end_reason'),
    /** Lineage of a fork (sessions/fork.ts): the source session, the turn and the offset it was forked at. */
    forkedFromId: text('forked_from_id'),
    forkedFromTurn: integer('forked_from_turn'),
    forkedFromOffset: text('forked_from_offset'),
  },
  (t) => [
    index('sessions_status_idx').on(t.status),
    index('sessions_pattern_idx').on(t.pattern),
    index('sessions_created_idx').on(t.createdAt, t.id),
    index('sessions_forked_from_idx').on(t.forkedFromId),
  ],
)

export type SessionRow = typeof sessions.$inferSelect
export type NewSessionRow = typeof sessions.$inferInsert
