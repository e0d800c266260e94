/** Usage per agent (issue #15): rows from the fold's agent-state entries that add up to the session's. */
import { describe, expect, it } from 'vitest'
import { agentUsages } from '../../../src/lib/sessions/agent-usage'
import { emptyFold, foldMessages, usageOf, type SessionFold } from '../../../src/lib/sessions/fold'
import { agentsPastTurnLimit } from '../../../src/lib/sessions/monitor'
import type { SessionAgent } from '../../../src/lib/sessions/session-types'

const agent = (id: string, limits: Partial<SessionAgent['limits']> = {}): SessionAgent => ({
  id,
  name: id.toUpperCase(),
  model: 'echo',
  limits: { maxBudgetUsd: null, maxTurns: null, ...limits },
})

let n = 0
/** An agent-state entry as a worker writes it. */
const state = (agentId: string, v: { status?: string; tokensIn?: number; tokensOut?: number; costUsd?: number; turns?: number }) => ({
  type: 'agent-state',
  key: `state:${agentId}`,
  value: { id: `state:${agentId}`, kind: 'state', agentId, status: v.status ?? 'idle', ...v },
  headers: { operation: 'upsert', eventId: `e${++n}`, timestamp: new Date(1_000).toISOString() },
})

const foldOf = (...events: unknown[]): SessionFold => foldMessages(emptyFold(), events, 2_000)

describe('agentUsages', () => {
  it("gives each agent its own reported usage, in list order, and the rows add up to the session's usage", () => {
    const fold = foldOf(
      state('b', { tokensIn: 10, tokensOut: 20, costUsd: 0.1, turns: 1 }),
      state('a', { tokensIn: 1, tokensOut: 2, costUsd: 0.2, turns: 3, status: 'thinking' }),
      // A later report of the same agent replaces the earlier one (cumulative figures).
      state('b', { tokensIn: 15, tokensOut: 25, costUsd: 0.3, turns: 2, status: 'idle' }),
    )
    const rows = agentUsages(fold, { agents: [agent('a', { maxTurns: 5 }), agent('b', { maxBudgetUsd: 1 })] })
    expect(rows).toEqual([
      { agentId: 'a', name: 'A', status: 'thinking', tokensIn: 1, tokensOut: 2, costUsd: 0.2, turns: 3, limits: { maxBudgetUsd: null, maxTurns: 5 } },
      { agentId: 'b', name: 'B', status: 'idle', tokensIn: 15, tokensOut: 25, costUsd: 0.3, turns: 2, limits: { maxBudgetUsd: 1, maxTurns: null } },
    ])
    const usage = usageOf(fold)
    expect(rows.reduce((s, r) => s + r.tokensIn, 0)).toBe(usage.tokensIn)
    expect(rows.reduce((s, r) => s + r.tokensOut, 0)).toBe(usage.tokensOut)
    expect(rows.reduce((s, r) => s + r.turns, 0)).toBe(usage.turns)
    expect(Math.round(rows.reduce((s, r) => s + r.costUsd, 0) * 1e9) / 1e9).toBe(usage.costUsd)
  })

  it('lists an agent that has not reported yet with zero usage and no status', () => {
    const rows = agentUsages(foldOf(state('a', { turns: 1 })), { agents: [agent('a'), agent('c')] })
    expect(rows[1]).toEqual({
      agentId: 'c',
      name: 'C',
      status: null,
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
      turns: 0,
      limits: { maxBudgetUsd: null, maxTurns: null },
    })
    expect(agentUsages(null, { agents: [agent('a'), agent('c')] }).map((r) => r.status)).toEqual([null, null])
  })

  it('keeps a removed agent as a row marked removed, so the rows still sum to the session', () => {
    const fold = foldOf(state('a', { costUsd: 0.5, turns: 1 }), state('gone', { costUsd: 0.25, turns: 2, status: 'stopped' }))
    const rows = agentUsages(fold, { agents: [agent('a'), agent('b')] })
    expect(rows.map((r) => [r.agentId, r.removed ?? false, r.costUsd])).toEqual([
      ['a', false, 0.5],
      ['b', false, 0],
      ['gone', true, 0.25],
    ])
    expect(rows.reduce((s, r) => s + r.costUsd, 0)).toBe(usageOf(fold).costUsd)
  })

  it("gives a single-agent session one row, `agent`, equal to the session's usage whatever subject its worker used", () => {
    const fold = foldOf(state('agent-s1', { tokensIn: 7, tokensOut: 8, costUsd: 0.01, turns: 2, status: 'idle' }))
    const rows = agentUsages(fold, { agents: [agent('agent')] })
    expect(rows).toEqual([
      { agentId: 'agent', name: 'AGENT', status: 'idle', tokensIn: 7, tokensOut: 8, costUsd: 0.01, turns: 2, limits: { maxBudgetUsd: null, maxTurns: null } },
    ])
    // A session created without a model has no agent list: still one row.
    expect(agentUsages(fold, { agents: [] })[0]).toMatchObject({ agentId: 'agent', turns: 2 })
  })

  it("shows the larger of the agent's report and the gateway's ledger for tokens and cost, like the session record", () => {
    const fold = foldOf(state('a', { tokensIn: 100, tokensOut: 5, costUsd: 0.001, turns: 1 }), state('b', { costUsd: 0.5 }))
    const ledger = new Map([
      ['a', { inputTokens: 50, outputTokens: 40, costUsd: 0.004 }],
      ['b', { inputTokens: 0, outputTokens: 0, costUsd: 0.1 }],
    ])
    const [a, b] = agentUsages(fold, { agents: [agent('a'), agent('b')] }, ledger)
    expect(a).toMatchObject({ tokensIn: 100, tokensOut: 40, costUsd: 0.004, turns: 1 })
    expect(b).toMatchObject({ costUsd: 0.5 })
  })
})

describe('agentsPastTurnLimit (the monitor)', () => {
  it('names agents at or past their own maxTurns that have not stopped', () => {
    const fold = foldOf(
      state('a', { turns: 2 }),
      state('b', { turns: 1 }),
      state('c', { turns: 9, status: 'stopped' }),
      state('d', { turns: 9 }),
    )
    const session = { agents: [agent('a', { maxTurns: 2 }), agent('b', { maxTurns: 2 }), agent('c', { maxTurns: 1 }), agent('d')] }
    expect(agentsPastTurnLimit(session, fold)).toEqual([{ agentId: 'a', maxTurns: 2 }])
  })
})
