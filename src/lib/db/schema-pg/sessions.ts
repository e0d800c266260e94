import { bigint, doublePrecision, index, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * One row per Tether session. The session's events live in its stream (`sessions/<id>`); this
 * row holds the lifecycle (pattern, status, limits) and a cache of usage folded from the stream
 * (refreshed by the writer and the monitor; the stream stays the truth).
 */
export const sessions = pgTable(
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
    maxIdleTimeMs: bigint('max_idle_time_ms', { mode: 'number' }),
    maxLifetimeMs: bigint('max_lifetime_ms', { mode: 'number' }),
    maxBudgetUsd: doublePrecision('max_budget_usd'),
    maxTurns: bigint('max_turns', { mode: 'number' }),
    tokensIn: bigint('tokens_in', { mode: 'number' }).notNull().default(0),
    tokensOut: bigint('tokens_out', { mode: 'number' }).notNull().default(0),
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    turns: bigint('turns', { mode: 'number' }).notNull().default(0),
    lastActivityAt: bigint('last_activity_at', { mode: 'number' }),
    createdBy: text('created_by'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
    endReason: text('end_reason'),
    /** Lineage of a fork (sessions/fork.ts): the source session, the turn and the offset it was forked at. */
    forkedFromId: text('forked_from_id'),
    forkedFromTurn: bigint('forked_from_turn', { mode: 'number' }),
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
