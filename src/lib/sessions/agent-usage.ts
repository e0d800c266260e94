/**
 * Usage per agent (issue #15), for `GET /api/sessions/:id/agents` and the page's agent panel:
 * each agent's own agent-state report (tokens, cost, turns, status) from the fold, next to its
 * limits. Pure. The rows add up to the session's usage (fold.ts usageOf sums the same entries):
 * agents removed from the list keep what they spent, as rows marked `removed`.
 */
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import type { AgentSummary, SessionFold } from './fold'
import type { AgentStatus, SessionAgent, SessionRecord } from './session-types'

export interface AgentUsage {
  agentId: string
  name: string
  /** The agent's last reported status; null before it reported any. */
  status: AgentStatus | null
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
  limits: SessionAgent['limits']
  /** Not on the session's list any more (its usage still counts in the session's). */
  removed?: true
}

/** What the gateway's ledger counted for one agent (ledger.ts totalsByAgent). */
export interface AgentLedgerTotals {
  inputTokens: number
  outputTokens: number
  costUsd: number
}

const NO_LIMITS: SessionAgent['limits'] = { maxBudgetUsd: null, maxTurns: null }
const round = (usd: number) => Math.round(usd * 1e9) / 1e9

/** Created with one `agent` config (or a list of just `agent`): any worker subject is that agent. */
export function isSingleAgent(session: Pick<SessionRecord, 'agents'>): boolean {
  return session.agents.length === 0 || (session.agents.length === 1 && session.agents[0]!.id === DEFAULT_AGENT_ID)
}

function sum(entries: Iterable<AgentSummary>): Omit<AgentSummary, 'status'> {
  const out = { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 }
  for (const a of entries) {
    out.tokensIn += a.tokensIn
    out.tokensOut += a.tokensOut
    out.costUsd += a.costUsd
    out.turns += a.turns
  }
  return { ...out, costUsd: round(out.costUsd) }
}

/**
 * One row per agent of the session, in list order, then the removed agents that reported usage.
 * A single-agent session has one row, `agent`, whatever subject its worker reported under (seed
 * 001's workers could use any), so its row equals the session's usage. `ledger`: the gateway's
 * per-agent counts; like the session record (gateway/usage-store.ts), a row shows the larger of
 * the agent's report and the ledger for tokens and cost.
 */
export function agentUsages(
  fold: Pick<SessionFold, 'agents'> | null,
  session: Pick<SessionRecord, 'agents'>,
  ledger?: ReadonlyMap<string, AgentLedgerTotals>,
): AgentUsage[] {
  const reported = fold?.agents ?? new Map<string, AgentSummary>()
  const withLedger = (agentId: string, u: Omit<AgentSummary, 'status'>) => {
    const l = ledger?.get(agentId)
    if (!l) return u
    return {
      ...u,
      tokensIn: Math.max(u.tokensIn, l.inputTokens),
      tokensOut: Math.max(u.tokensOut, l.outputTokens),
      costUsd: Math.max(u.costUsd, round(l.costUsd)),
    }
  }
  if (isSingleAgent(session)) {
    const agent = session.agents[0]
    const own = reported.get(DEFAULT_AGENT_ID) ?? [...reported.values()].at(-1)
    const usage = withLedger(DEFAULT_AGENT_ID, sum(reported.values()))
    return [{ agentId: DEFAULT_AGENT_ID, name: agent?.name ?? DEFAULT_AGENT_ID, status: own?.status ?? null, ...usage, limits: agent?.limits ?? NO_LIMITS }]
  }
  const rows: AgentUsage[] = session.agents.map((a) => {
    const r = reported.get(a.id)
    const usage = withLedger(a.id, r ? sum([r]) : { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 })
    return { agentId: a.id, name: a.name, status: r?.status ?? null, ...usage, limits: a.limits }
  })
  for (const [agentId, r] of reported) {
    if (session.agents.some((a) => a.id === agentId)) continue
    rows.push({ agentId, name: agentId, status: r.status, ...withLedger(agentId, sum([r])), limits: NO_LIMITS, removed: true })
  }
  return rows
}
