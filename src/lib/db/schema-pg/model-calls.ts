import { bigint, bigserial, doublePrecision, index, pgTable, text } from 'drizzle-orm/pg-core'

/**
 * The model gateway's ledger: one row per model call a worker asked for (src/lib/gateway). It is
 * the source of truth for what a session spent on models: a row is written (status `running`,
 * cost = the call's worst case) before the provider is called and settled with the real usage
 * after, so concurrent calls and a server crash mid-call are counted, never forgotten. Rows are
 * kept after a session is deleted (an audit trail of money spent).
 */
export const modelCalls = pgTable(
  'model_calls',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    sessionId: text('session_id').notNull(),
    /** The calling agent (the worker token's subject; issue #15 per-agent budgets); null before it was recorded. */
    agentId: text('agent_id'),
    /** `<provider>:<model>` as priced, e.g. `anthropic:claude-haiku-4-5`. */
    model: text('model').notNull(),
    status: text('status', { enum: ['running', 'ok', 'error', 'aborted', 'refused'] }).notNull(),
    inputTokens: bigint('input_tokens', { mode: 'number' }).notNull().default(0),
    outputTokens: bigint('output_tokens', { mode: 'number' }).notNull().default(0),
    /** While running: the worst case (reserved); once settled: the call's cost. */
    costUsd: doublePrecision('cost_usd').notNull().default(0),
    /** The worst case estimated before the call. */
    estimateUsd: doublePrecision('estimate_usd').notNull().default(0),
    /** Why a call was refused or failed. */
    error: text('error'),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    endedAt: bigint('ended_at', { mode: 'number' }),
  },
  // started_at: the stats summary and metrics select calls by time range (a 90-day summary
  // scanned the whole ledger without it: 10-15 s at 500k rows).
  (t) => [
    index('model_calls_session_idx').on(t.sessionId),
    index('model_calls_started_idx').on(t.startedAt),
    index('model_calls_session_agent_idx').on(t.sessionId, t.agentId),
  ],
)

export type ModelCallRow = typeof modelCalls.$inferSelect
