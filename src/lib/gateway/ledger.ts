/**
 * The model-call ledger (table model_calls): what each session spent on models, as the server
 * counted it. `Ledger` is what callers use; `ModelLedger` here is SQLite's (values, synchronous),
 * `PgModelLedger` (ledger-pg.ts) PostgreSQL's (promises), and callers await both. In SQLite the
 * budget check and the reservation are one synchronous transaction, so two calls racing from the
 * same session cannot both slip under the budget. Rows carry the calling agent (issue #15): the
 * same transaction checks that agent's own budget too.
 */
import { and, eq, sql, type SQL } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { modelCalls, type ModelCallRow } from '../db/schema/model-calls'
import type { MaybePromise } from '../streams/engine'

export interface LedgerTotals {
  inputTokens: number
  outputTokens: number
  /** Settled costs plus the worst case of calls still running (refused calls cost nothing). */
  costUsd: number
}

export type Settlement = { status: 'ok' | 'error' | 'aborted'; inputTokens: number; outputTokens: number; costUsd: number; error?: string }

/** `agentSpentUsd`: the calling agent's own spend (0 without an agent). `over`: which budget refused. */
export type Reservation =
  | { ok: true; callId: number; spentUsd: number; agentSpentUsd: number }
  | { ok: false; over: 'session' | 'agent'; spentUsd: number; agentSpentUsd: number }
  | { ok: false; over: 'owner'; spentUsd: number; agentSpentUsd: number; ownerSpentUsd: number }

/**
 * The session owner's monthly spend limit (accounts/quotas.ts), checked inside the reservation:
 * a person's calls in several sessions, on several nodes, are refused once their spend since
 * `sinceMs` (settled costs and running calls' worst cases) has reached `limitUsd`, and two calls
 * cannot both pass on the same last cent.
 */
export interface OwnerSpendLimit {
  userId: string
  limitUsd: number
  sinceMs: number
}

/** A person's spend since `sinceMs` over the sessions they started (user_session_starts); both dialects. */
export function ownerSpendSql(userId: string, sinceMs: number): SQL {
  return sql`SELECT coalesce(sum(m.cost_usd), 0) AS usd FROM user_session_starts s JOIN model_calls m ON m.session_id = s.session_id
    WHERE s.user_id = ${userId} AND m.started_at >= ${sinceMs}`
}

/** The calling agent of a reservation and its own budget (null = none). */
export interface AgentBudget {
  agentId: string
  budgetUsd: number | null
}

/**
 * The ledger on either engine. `reserve` is the budget promise: check and insert are one atomic
 * step per session, across every node sharing the database.
 */
export interface Ledger {
  /** A session's sums: settled costs plus the worst case of calls still running. */
  totals(sessionId: string): MaybePromise<LedgerTotals>
  /** One agent's sums within a session. */
  agentTotals(sessionId: string, agentId: string): MaybePromise<LedgerTotals>
  /** Sums per calling agent (rows without an agent are left out). */
  totalsByAgent(sessionId: string): MaybePromise<Map<string, LedgerTotals>>
  /**
   * Reserves `estimateUsd` unless the owner's spend has reached their limit, or it would pass the
   * session's budget or the agent's (null = none).
   */
  reserve(sessionId: string, model: string, estimateUsd: number, budgetUsd: number | null, agent?: AgentBudget, owner?: OwnerSpendLimit): MaybePromise<Reservation>
  /** A call refused before any provider request (kept for the audit trail; costs nothing). */
  refuse(sessionId: string, model: string, estimateUsd: number, reason: string, agentId?: string): MaybePromise<void>
  /** A reserved call's outcome: its real usage replaces the worst case. */
  settle(callId: number, s: Settlement): MaybePromise<void>
  /** A session's rows, oldest first. */
  calls(sessionId: string): MaybePromise<ModelCallRow[]>
}

/** Costs rounded to a nano-dollar (sums of float costs drift otherwise); both engines round alike. */
export const round = (usd: number) => Math.round(usd * 1e9) / 1e9

/** A refused call's row (kept for the audit trail; costs nothing), the same on both engines. */
export function refusedRow(sessionId: string, model: string, estimateUsd: number, reason: string, agentId: string | undefined, at: number) {
  return { sessionId, agentId: agentId ?? null, model, status: 'refused' as const, estimateUsd, error: reason.slice(0, 1000), startedAt: at, endedAt: at }
}

/** A settled call's row update, the same on both engines. */
export function settledColumns(s: Settlement, at: number) {
  return {
    status: s.status,
    inputTokens: s.inputTokens,
    outputTokens: s.outputTokens,
    costUsd: round(s.costUsd),
    error: s.error?.slice(0, 1000) ?? null,
    endedAt: at,
  }
}

/** A session's (or one of its agents') sums over the ledger (inside or outside a transaction: same connection). */
function sums(db: Pick<BetterSQLite3Database, 'select'>, sessionId: string, agentId?: string): LedgerTotals {
  const where: SQL | undefined =
    agentId === undefined ? eq(modelCalls.sessionId, sessionId) : and(eq(modelCalls.sessionId, sessionId), eq(modelCalls.agentId, agentId))
  const row = db
    .select({
      inputTokens: sql<number>`coalesce(sum(${modelCalls.inputTokens}), 0)`,
      outputTokens: sql<number>`coalesce(sum(${modelCalls.outputTokens}), 0)`,
      costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
    })
    .from(modelCalls)
    .where(where)
    .get()
  return { inputTokens: row?.inputTokens ?? 0, outputTokens: row?.outputTokens ?? 0, costUsd: round(row?.costUsd ?? 0) }
}

/** What a session and one of its agents spent, in one scan of the session's rows (the reservation's check). */
function spent(db: Pick<BetterSQLite3Database, 'select'>, sessionId: string, agentId: string | null): { session: number; agent: number } {
  const row = db
    .select({
      session: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
      agent: sql<number>`coalesce(sum(case when ${modelCalls.agentId} = ${agentId} then ${modelCalls.costUsd} else 0 end), 0)`,
    })
    .from(modelCalls)
    .where(eq(modelCalls.sessionId, sessionId))
    .get()
  return { session: round(row?.session ?? 0), agent: round(row?.agent ?? 0) }
}

export class ModelLedger implements Ledger {
  /** Totals per session, dropped on every ledger write: usage is refreshed on every session append. */
  private readonly cache = new Map<string, LedgerTotals>()

  constructor(
    private readonly db: BetterSQLite3Database,
    private readonly now: () => number,
  ) {}

  /** One agent's sums (rows written with its id; not cached: read once per model call). */
  agentTotals(sessionId: string, agentId: string): LedgerTotals {
    return sums(this.db, sessionId, agentId)
  }

  /** Sums per calling agent (rows from before agents were recorded, agent_id null, are left out). */
  totalsByAgent(sessionId: string): Map<string, LedgerTotals> {
    const rows = this.db
      .select({
        agentId: modelCalls.agentId,
        inputTokens: sql<number>`coalesce(sum(${modelCalls.inputTokens}), 0)`,
        outputTokens: sql<number>`coalesce(sum(${modelCalls.outputTokens}), 0)`,
        costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
      })
      .from(modelCalls)
      .where(eq(modelCalls.sessionId, sessionId))
      .groupBy(modelCalls.agentId)
      .all()
    const out = new Map<string, LedgerTotals>()
    for (const r of rows) {
      if (r.agentId !== null) out.set(r.agentId, { inputTokens: r.inputTokens, outputTokens: r.outputTokens, costUsd: round(r.costUsd) })
    }
    return out
  }

  totals(sessionId: string): LedgerTotals {
    const cached = this.cache.get(sessionId)
    if (cached) return cached
    const totals = sums(this.db, sessionId)
    if (this.cache.size >= 10_000) this.cache.clear()
    this.cache.set(sessionId, totals)
    return totals
  }

  /**
   * Reserves `estimateUsd` for a call unless spent + estimate would pass `budgetUsd` (null = no
   * budget), or the agent's own spend + estimate would pass its budget. Check and insert in one
   * transaction. The session's budget is checked first: past it the session ends, whoever called.
   */
  reserve(sessionId: string, model: string, estimateUsd: number, budgetUsd: number | null, agent?: AgentBudget, owner?: OwnerSpendLimit): Reservation {
    this.cache.delete(sessionId)
    return this.db.transaction((tx) => {
      const both = spent(tx, sessionId, agent?.agentId ?? null)
      const spentUsd = both.session
      const agentSpent = agent ? both.agent : 0
      if (owner) {
        const ownerSpentUsd = round(tx.get<{ usd: number }>(ownerSpendSql(owner.userId, owner.sinceMs))?.usd ?? 0)
        if (ownerSpentUsd >= owner.limitUsd) return { ok: false as const, over: 'owner' as const, spentUsd, agentSpentUsd: agentSpent, ownerSpentUsd }
      }
      if (budgetUsd !== null && spentUsd + estimateUsd > budgetUsd)
        return { ok: false as const, over: 'session' as const, spentUsd, agentSpentUsd: agentSpent }
      if (agent && agent.budgetUsd !== null && agentSpent + estimateUsd > agent.budgetUsd)
        return { ok: false as const, over: 'agent' as const, spentUsd, agentSpentUsd: agentSpent }
      const row = tx
        .insert(modelCalls)
        .values({ sessionId, agentId: agent?.agentId ?? null, model, status: 'running', costUsd: estimateUsd, estimateUsd, startedAt: this.now() })
        .returning({ id: modelCalls.id })
        .get()
      return { ok: true as const, callId: row.id, spentUsd, agentSpentUsd: agentSpent }
    })
  }

  /** A call refused before any provider request (kept for the audit trail; costs nothing). */
  refuse(sessionId: string, model: string, estimateUsd: number, reason: string, agentId?: string): void {
    this.db.insert(modelCalls).values(refusedRow(sessionId, model, estimateUsd, reason, agentId, this.now())).run()
  }

  settle(callId: number, s: Settlement): void {
    const row = this.db
      .update(modelCalls)
      .set(settledColumns(s, this.now()))
      .where(eq(modelCalls.id, callId))
      .returning({ sessionId: modelCalls.sessionId })
      .get()
    if (row) this.cache.delete(row.sessionId)
  }

  calls(sessionId: string): ModelCallRow[] {
    return this.db.select().from(modelCalls).where(eq(modelCalls.sessionId, sessionId)).orderBy(modelCalls.id).all()
  }
}
