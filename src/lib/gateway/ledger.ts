/**
 * The model-call ledger (table model_calls): what each session spent on models, as the server
 * counted it. The budget check and the reservation are one synchronous SQLite transaction, so
 * two calls racing from the same session cannot both slip under the budget.
 */
import { eq, sql } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { modelCalls, type ModelCallRow } from '../db/schema/model-calls'

export interface LedgerTotals {
  inputTokens: number
  outputTokens: number
  /** Settled costs plus the worst case of calls still running (refused calls cost nothing). */
  costUsd: number
}

export type Settlement = { status: 'ok' | 'error' | 'aborted'; inputTokens: number; outputTokens: number; costUsd: number; error?: string }

export type Reservation = { ok: true; callId: number; spentUsd: number } | { ok: false; spentUsd: number }

const round = (usd: number) => Math.round(usd * 1e9) / 1e9

/** A session's sums over the ledger (inside or outside a transaction: same connection). */
function sums(db: Pick<BetterSQLite3Database, 'select'>, sessionId: string): LedgerTotals {
  const row = db
    .select({
      inputTokens: sql<number>`coalesce(sum(${modelCalls.inputTokens}), 0)`,
      outputTokens: sql<number>`coalesce(sum(${modelCalls.outputTokens}), 0)`,
      costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`,
    })
    .from(modelCalls)
    .where(eq(modelCalls.sessionId, sessionId))
    .get()
  return { inputTokens: row?.inputTokens ?? 0, outputTokens: row?.outputTokens ?? 0, costUsd: round(row?.costUsd ?? 0) }
}

export class ModelLedger {
  /** Totals per session, dropped on every ledger write: usage is refreshed on every session append. */
  private readonly cache = new Map<string, LedgerTotals>()

  constructor(
    private readonly db: BetterSQLite3Database,
    private readonly now: () => number,
  ) {}

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
   * budget). Check and insert in one transaction.
   */
  reserve(sessionId: string, model: string, estimateUsd: number, budgetUsd: number | null): Reservation {
    this.cache.delete(sessionId)
    return this.db.transaction((tx) => {
      const spent = sums(tx, sessionId).costUsd
      if (budgetUsd !== null && spent + estimateUsd > budgetUsd) return { ok: false as const, spentUsd: spent }
      const row = tx
        .insert(modelCalls)
        .values({ sessionId, model, status: 'running', costUsd: estimateUsd, estimateUsd, startedAt: this.now() })
        .returning({ id: modelCalls.id })
        .get()
      return { ok: true as const, callId: row.id, spentUsd: spent }
    })
  }

  /** A call refused before any provider request (kept for the audit trail; costs nothing). */
  refuse(sessionId: string, model: string, estimateUsd: number, reason: string): void {
    const now = this.now()
    this.db
      .insert(modelCalls)
      .values({ sessionId, model, status: 'refused', estimateUsd, error: reason.slice(0, 1000), startedAt: now, endedAt: now })
      .run()
  }

  settle(callId: number, s: Settlement): void {
    const row = this.db
      .update(modelCalls)
      .set({
        status: s.status,
        inputTokens: s.inputTokens,
        outputTokens: s.outputTokens,
        costUsd: round(s.costUsd),
        error: s.error?.slice(0, 1000) ?? null,
        endedAt: this.now(),
      })
      .where(eq(modelCalls.id, callId))
      .returning({ sessionId: modelCalls.sessionId })
      .get()
    if (row) this.cache.delete(row.sessionId)
  }

  calls(sessionId: string): ModelCallRow[] {
    return this.db.select().from(modelCalls).where(eq(modelCalls.sessionId, sessionId)).orderBy(modelCalls.id).all()
  }
}
