/**
 * The model-call ledger in PostgreSQL (issue #14): the `Ledger` of ledger.ts on the schema-pg
 * table. Every answer is a promise.
 *
 * The reservation holds across nodes: it runs in one transaction that first takes a transaction
 * advisory lock keyed by the session (`pg_advisory_xact_lock(hashtextextended('model-calls:<id>', 0))`),
 * then sums the session's rows and inserts the reservation. Under READ COMMITTED each statement
 * reads a fresh snapshot, so the sum taken after the lock sees every reservation committed by
 * whoever held the lock before: two nodes reserving for one session queue on the lock and the
 * second sees the first's row. The agent's budget is within its session, so the same lock covers it.
 * A person's monthly spend limit spans their sessions: a lock keyed by the person comes first.
 * Refusals and settlements are single statements (a settlement only replaces a reserved worst
 * case with the real cost) and take no lock.
 *
 * No cache: another node's reservation or settlement changes a session's totals at any time, so
 * a cached total would be stale with nothing to tell this node. Every read is one indexed sum
 * (model_calls_session_idx / model_calls_session_agent_idx); the session store reads it only when
 * a usage write is due (withLedgerUsage, usage-store.ts) and the gateway once after each call.
 */
import { and, asc, eq, sql, type SQL } from 'drizzle-orm'
import type { PostgresJsDatabase } from 'drizzle-orm/postgres-js'
import { modelCalls, type ModelCallRow } from '../db/schema-pg/model-calls'
import {
  ownerSpendSql,
  refusedRow,
  round,
  settledColumns,
  type AgentBudget,
  type Ledger,
  type LedgerTotals,
  type OwnerSpendLimit,
  type Reservation,
  type Settlement,
} from './ledger'

type Db = Pick<PostgresJsDatabase, 'select'>

const sumColumns = {
  inputTokens: sql<number>`coalesce(sum(${modelCalls.inputTokens}), 0)`.mapWith(Number),
  outputTokens: sql<number>`coalesce(sum(${modelCalls.outputTokens}), 0)`.mapWith(Number),
  costUsd: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`.mapWith(Number),
}

async function sums(db: Db, sessionId: string, agentId?: string): Promise<LedgerTotals> {
  const where: SQL | undefined =
    agentId === undefined ? eq(modelCalls.sessionId, sessionId) : and(eq(modelCalls.sessionId, sessionId), eq(modelCalls.agentId, agentId))
  const [row] = await db.select(sumColumns).from(modelCalls).where(where)
  return { inputTokens: row?.inputTokens ?? 0, outputTokens: row?.outputTokens ?? 0, costUsd: round(row?.costUsd ?? 0) }
}

export class PgModelLedger implements Ledger {
  constructor(
    private readonly db: PostgresJsDatabase,
    private readonly now: () => number,
  ) {}

  totals(sessionId: string): Promise<LedgerTotals> {
    return sums(this.db, sessionId)
  }

  agentTotals(sessionId: string, agentId: string): Promise<LedgerTotals> {
    return sums(this.db, sessionId, agentId)
  }

  async totalsByAgent(sessionId: string): Promise<Map<string, LedgerTotals>> {
    const rows = await this.db
      .select({ agentId: modelCalls.agentId, ...sumColumns })
      .from(modelCalls)
      .where(eq(modelCalls.sessionId, sessionId))
      .groupBy(modelCalls.agentId)
    const out = new Map<string, LedgerTotals>()
    for (const r of rows) {
      if (r.agentId !== null) out.set(r.agentId, { inputTokens: r.inputTokens, outputTokens: r.outputTokens, costUsd: round(r.costUsd) })
    }
    return out
  }

  /**
   * As ModelLedger.reserve, serialised per session across nodes by the advisory lock (see the
   * top), and per person first when the owner's spend limit is checked (always person, then
   * session, so two reservations never wait on each other's locks).
   */
  reserve(sessionId: string, model: string, estimateUsd: number, budgetUsd: number | null, agent?: AgentBudget, owner?: OwnerSpendLimit): Promise<Reservation> {
    const agentId = agent?.agentId ?? null
    return this.db.transaction(async (tx) => {
      let ownerSpentUsd = 0
      if (owner) {
        await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`model-spend:${owner.userId}`}, 0))`)
        const [spent] = await tx.execute<{ usd: number }>(ownerSpendSql(owner.userId, owner.sinceMs))
        ownerSpentUsd = round(Number(spent?.usd ?? 0))
      }
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`model-calls:${sessionId}`}, 0))`)
      const [row] = await tx
        .select({
          session: sql<number>`coalesce(sum(${modelCalls.costUsd}), 0)`.mapWith(Number),
          agent: sql<number>`coalesce(sum(case when ${modelCalls.agentId} = ${agentId} then ${modelCalls.costUsd} else 0 end), 0)`.mapWith(Number),
        })
        .from(modelCalls)
        .where(eq(modelCalls.sessionId, sessionId))
      const spentUsd = round(row?.session ?? 0)
      const agentSpent = agent ? round(row?.agent ?? 0) : 0
      if (owner && ownerSpentUsd >= owner.limitUsd)
        return { ok: false as const, over: 'owner' as const, spentUsd, agentSpentUsd: agentSpent, ownerSpentUsd }
      if (budgetUsd !== null && spentUsd + estimateUsd > budgetUsd)
        return { ok: false as const, over: 'session' as const, spentUsd, agentSpentUsd: agentSpent }
      if (agent && agent.budgetUsd !== null && agentSpent + estimateUsd > agent.budgetUsd)
        return { ok: false as const, over: 'agent' as const, spentUsd, agentSpentUsd: agentSpent }
      const [made] = await tx
        .insert(modelCalls)
        .values({ sessionId, agentId, model, status: 'running', costUsd: estimateUsd, estimateUsd, startedAt: this.now() })
        .returning({ id: modelCalls.id })
      if (!made) throw new Error('the ledger insert returned no row')
      return { ok: true as const, callId: made.id, spentUsd, agentSpentUsd: agentSpent }
    })
  }

  async refuse(sessionId: string, model: string, estimateUsd: number, reason: string, agentId?: string): Promise<void> {
    await this.db.insert(modelCalls).values(refusedRow(sessionId, model, estimateUsd, reason, agentId, this.now()))
  }

  async settle(callId: number, s: Settlement): Promise<void> {
    await this.db
      .update(modelCalls)
      .set(settledColumns(s, this.now()))
      .where(eq(modelCalls.id, callId))
  }

  calls(sessionId: string): Promise<ModelCallRow[]> {
    return this.db.select().from(modelCalls).where(eq(modelCalls.sessionId, sessionId)).orderBy(asc(modelCalls.id))
  }
}
