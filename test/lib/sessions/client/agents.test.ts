/**
 * The page's view of several agents (issue #15): roster + per-agent state entries → cards,
 * colours, names and totals; `@` completion helpers; turn chips per answering agent.
 */
import { describe, expect, it } from 'vitest'
import type { AgentRoster, AgentState, AgentStateEntry, AgentTurn } from '../../../../src/lib/sessions/channel-schemas'
import {
  AGENT_PALETTE_SIZE,
  deriveAgents,
  insertMention,
  mentionAt,
  mentionCandidates,
  rosterFromEntries,
} from '../../../../src/lib/sessions/client/agents'
import { deriveTurns, turnsOf } from '../../../../src/lib/sessions/client/turns'
import type { SessionAgent } from '../../../../src/lib/sessions/session-types'

const state = (agentId: string, extra: Partial<AgentState> = {}): AgentState => ({
  id: agentId,
  kind: 'state',
  agentId,
  status: 'idle',
  tokensIn: 0,
  tokensOut: 0,
  costUsd: 0,
  turns: 0,
  lastHeartbeat: 1,
  timestamp: 1,
  ...extra,
})

const roster = (ids: string[], extra: Partial<AgentRoster> = {}): AgentRoster => ({
  id: 'roster',
  kind: 'roster',
  agents: ids.map((id) => ({ id, name: id.toUpperCase() })),
  defaultAgent: ids[0] ?? 'agent',
  unaddressed: 'default',
  maxAgentTurnsInARow: 4,
  timestamp: 1,
  ...extra,
})

const sessionAgent = (id: string, limits: SessionAgent['limits']): SessionAgent => ({
  id,
  name: id,
  model: 'echo',
  provider: 'echo',
  limits,
})

describe('rosterFromEntries', () => {
  it('is the single agent `agent` without a roster entry, and the newest roster entry otherwise', () => {
    expect(rosterFromEntries([state('agent')])).toEqual({
      roster: { agents: [{ id: 'agent', name: 'agent' }], defaultAgent: 'agent', unaddressed: 'default', maxAgentTurnsInARow: 4 },
      logged: false,
    })
    const { roster: r, logged } = rosterFromEntries([roster(['a', 'b'], { timestamp: 5 }), roster(['a'], { timestamp: 2 })])
    expect(logged).toBe(true)
    expect(r.agents.map((a) => a.id)).toEqual(['a', 'b'])
  })
})

describe('deriveAgents', () => {
  it('gives one card per roster agent in roster order, with its own state, colour by position and limits', () => {
    const entries: AgentStateEntry[] = [
      state('b', { status: 'thinking', currentStep: 'Writing', tokensIn: 10, tokensOut: 20, costUsd: 0.5, turns: 2, model: 'm-b' }),
      roster(['a', 'b', 'c']),
      state('a', { tokensIn: 1, tokensOut: 2, costUsd: 0.25, turns: 1 }),
      { id: 'control:x', kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'u', timestamp: 1 },
    ]
    const view = deriveAgents(entries, [sessionAgent('b', { maxBudgetUsd: 2, maxTurns: 10 })])
    expect(view.cards.map((c) => [c.id, c.name, c.colour, c.status])).toEqual([
      ['a', 'A', 0, 'idle'],
      ['b', 'B', 1, 'thinking'],
      ['c', 'C', 2, 'not started'],
    ])
    const b = view.cards[1]!
    expect([b.tokensIn, b.tokensOut, b.costUsd, b.turns, b.currentStep, b.model]).toEqual([10, 20, 0.5, 2, 'Writing', 'm-b'])
    expect(b.limits).toEqual({ maxBudgetUsd: 2, maxTurns: 10 })
    expect(view.cards[0]!.limits).toEqual({ maxBudgetUsd: null, maxTurns: null })
    expect(view.cards[0]!.isDefault).toBe(true)
    expect(view.totals).toEqual({ tokensIn: 11, tokensOut: 22, costUsd: 0.75, turns: 3 })
    expect(view.nameOf('b')).toBe('B')
    expect(view.colourOf('c')).toBe(2)
  })

  it('keeps a removed agent (not on the roster) as a card of its own, and its usage in the totals', () => {
    const view = deriveAgents([roster(['a']), state('a', { turns: 1 }), state('gone', { turns: 4, costUsd: 1 })])
    expect(view.cards.map((c) => [c.id, c.onRoster])).toEqual([
      ['a', true],
      ['gone', false],
    ])
    expect(view.totals.turns).toBe(5)
    expect(view.cards[1]!.colour).toBeLessThan(AGENT_PALETTE_SIZE)
  })

  it('shows a single-agent session (no roster entry) as one card, whatever id its worker reports under', () => {
    expect(deriveAgents([state('agent', { turns: 2 })]).cards.map((c) => [c.id, c.turns])).toEqual([['agent', 2]])
    expect(deriveAgents([state('agent-test', { turns: 1 })]).cards.map((c) => c.id)).toEqual(['agent-test'])
    expect(deriveAgents([]).cards.map((c) => [c.id, c.status])).toEqual([['agent', 'not started']])
  })
})

describe('@ completion', () => {
  const r = {
    agents: [
      { id: 'a', name: 'Alice' },
      { id: 'bob', name: 'Builder' },
      { id: 'c', name: 'Carol' },
    ],
  }
  it('finds the mention being typed at the caret, not an e-mail address', () => {
    expect(mentionAt('hi @', 4)).toEqual({ start: 3, query: '' })
    expect(mentionAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' })
    expect(mentionAt('@c', 2)).toEqual({ start: 0, query: 'c' })
    expect(mentionAt('mail me@ex', 10)).toBeNull()
    expect(mentionAt('hi @bo there', 12)).toBeNull()
  })
  it('lists the agents whose id or name starts with the query', () => {
    expect(mentionCandidates(r, '').map((a) => a.id)).toEqual(['a', 'bob', 'c'])
    expect(mentionCandidates(r, 'b').map((a) => a.id)).toEqual(['bob'])
    expect(mentionCandidates(r, 'car').map((a) => a.id)).toEqual(['c'])
    expect(mentionCandidates(r, 'z')).toEqual([])
  })
  it('inserts `@<id> ` in place of what was typed, and puts the caret after it', () => {
    expect(insertMention('hi @bo', 3, 6, 'bob')).toEqual({ text: 'hi @bob ', caret: 8 })
    expect(insertMention('@ please', 0, 1, 'a')).toEqual({ text: '@a please', caret: 3 })
  })
})

describe('turns per answering agent', () => {
  const turn = (messageId: string, agentId: string | undefined, n: number, status: AgentTurn['status'], acceptedAt: number): AgentTurn => ({
    id: agentId && agentId !== 'agent' ? `turn:${messageId}@${agentId}` : `turn:${messageId}`,
    kind: 'turn',
    messageId,
    ...(agentId ? { agentId } : {}),
    turn: n,
    status,
    acceptedAt,
    updatedAt: acceptedAt,
    timestamp: acceptedAt,
  })
  it('lists every agent answering a message and the current turn of each agent', () => {
    const views = deriveTurns([
      turn('m1', 'a', 1, 'done', 1),
      turn('m1', 'b', 1, 'streaming', 2),
      turn('m2', 'a', 2, 'accepted', 3),
      turn('m3', undefined, 1, 'done', 4),
    ])
    expect(turnsOf(views, 'm1').map((t) => [t.agentId, t.status])).toEqual([
      ['a', 'done'],
      ['b', 'streaming'],
    ])
    expect(turnsOf(views, 'm3').map((t) => t.agentId)).toEqual(['agent'])
    expect(turnsOf(views, 'nope')).toEqual([])
    expect(views.currentByAgent.get('a')?.messageId).toBe('m2')
    expect(views.currentByAgent.get('b')?.messageId).toBe('m1')
    // Newest by acceptance, though b's turn number (1) is lower than a's (2).
    expect(views.current?.messageId).toBe('m2')
    expect(views.byMessage.get('m1')?.agentId).toBe('a')
  })
})
