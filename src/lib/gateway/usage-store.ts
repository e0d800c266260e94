/**
 * The session store with the ledger folded into usage. Usage otherwise comes from what agents
 * report in the stream (agent-state), which a worker writes itself; the ledger is what the server
 * counted. The record shows the larger of the two for tokens and cost: a worker that reports less
 * (or crashes before reporting) cannot hide what the gateway spent, and one that reports more
 * only brings its own limit closer. The gateway's budget check reads the ledger alone.
 */
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import type { SessionUsage } from '../sessions/fold'
import { SqliteSessionStore } from '../sessions/session-store'
import type { ModelLedger } from './ledger'

function withLedger(usage: SessionUsage, ledger: { inputTokens: number; outputTokens: number; costUsd: number }): SessionUsage {
  return {
    ...usage,
    tokensIn: Math.max(usage.tokensIn, ledger.inputTokens),
    tokensOut: Math.max(usage.tokensOut, ledger.outputTokens),
    costUsd: Math.max(usage.costUsd, ledger.costUsd),
  }
}

export class LedgerSessionStore extends SqliteSessionStore {
  constructor(
    db: BetterSQLite3Database,
    private readonly ledger: ModelLedger,
  ) {
    super(db)
  }

  override updateUsage(id: string, usage: SessionUsage): void {
    super.updateUsage(id, withLedger(usage, this.ledger.totals(id)))
  }
}
