/**
 * Several agents in one session (issue #15), the page's derivation: the latest roster entry
 * (agent-state `kind: 'roster'`; none = the single agent `agent`) and each agent's own state entry
 * (`kind: 'state'`) → one card per agent (name, colour, status, step, usage, limits) and the
 * session's totals. Pure and browser-safe: rows in, views out.
 */
import { agentColourIndex, DEFAULT_AGENT_ID, singleAgentRoster, type Roster } from '../../common/agent-roster'
import type { AgentRoster, AgentState, AgentStateEntry } from '../channel-schemas'
import type { SessionAgent } from '../session-types'

/** Colours in the palette (styles.css: --agent-0 … --agent-7, in both themes). */
export const AGENT_PALETTE_SIZE = 8

export interface AgentUsage {
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
}

export interface AgentCard extends AgentUsage {
  id: string
  name: string
  /** index into the palette: the agent's position in the roster (agentColourIndex when it is not on it) */
  colour: number
  /** on the current roster; false for an agent that was removed (its usage still counts) */
  onRoster: boolean
  isDefault: boolean
  /** its state entry, absent until its worker first reports */
  state?: AgentState
  status: AgentState['status'] | 'not started'
  currentStep: string | null
  model?: string
  limits: { maxBudgetUsd: number | null; maxTurns: number | null }
}

export interface AgentsView {
  roster: Roster
  /** whether the stream holds a roster entry (a session created with an agent list) */
  logged: boolean
  cards: AgentCard[]
  totals: AgentUsage
  colourOf(agentId: string): number
  nameOf(agentId: string): string
}

const isRoster = (e: AgentStateEntry): e is AgentRoster => e.kind === 'roster'
const isState = (e: AgentStateEntry): e is AgentState => e.kind === 'state'

/** The roster the stream says now: its latest roster entry, else the implicit single agent. */
export function rosterFromEntries(entries: readonly AgentStateEntry[]): { roster: Roster; logged: boolean } {
  let latest: AgentRoster | undefined
  // Upserted under one id, so a collection holds one; a raw log may hold several: the last wins.
  for (const e of entries) if (isRoster(e) && (!latest || e.timestamp >= latest.timestamp)) latest = e
  if (!latest) return { roster: singleAgentRoster(), logged: false }
  return {
    roster: {
      agents: latest.agents.map((a) => ({ id: a.id, name: a.name })),
      defaultAgent: latest.defaultAgent,
      unaddressed: latest.unaddressed,
      maxAgentTurnsInARow: latest.maxAgentTurnsInARow,
    },
    logged: true,
  }
}

const NO_LIMITS = { maxBudgetUsd: null, maxTurns: null }

/**
 * Cards in roster order, then agents that reported state but are not on the roster (removed, or
 * a single-agent session's worker under another id), by id. Totals sum every state entry, so they
 * equal the session's usage whoever is on the roster now. `sessionAgents` (the record's list)
 * adds each agent's limits and model.
 */
export function deriveAgents(entries: readonly AgentStateEntry[], sessionAgents: readonly SessionAgent[] = []): AgentsView {
  const { roster, logged } = rosterFromEntries(entries)
  const states = new Map<string, AgentState>()
  for (const e of entries) if (isState(e)) states.set(e.agentId, e)
  const configOf = new Map(sessionAgents.map((a) => [a.id, a]))
  const card = (id: string, name: string, colour: number, onRoster: boolean): AgentCard => {
    const state = states.get(id)
    const config = configOf.get(id)
    return {
      id,
      name,
      colour,
      onRoster,
      isDefault: id === roster.defaultAgent,
      ...(state ? { state } : {}),
      status: state?.status ?? 'not started',
      currentStep: state?.currentStep ?? null,
      ...((state?.model ?? config?.model) ? { model: state?.model ?? config?.model } : {}),
      tokensIn: state?.tokensIn ?? 0,
      tokensOut: state?.tokensOut ?? 0,
      costUsd: state?.costUsd ?? 0,
      turns: state?.turns ?? 0,
      limits: config?.limits ?? NO_LIMITS,
    }
  }
  const cards = roster.agents.map((a, i) => card(a.id, a.name, i % AGENT_PALETTE_SIZE, true))
  const onRoster = new Set(roster.agents.map((a) => a.id))
  const others = [...states.keys()].filter((id) => !onRoster.has(id)).sort()
  // Without a logged roster the implicit `agent` card stands for whichever single worker reports.
  if (!logged && others.length > 0 && !states.has(DEFAULT_AGENT_ID)) cards.length = 0
  for (const id of others) cards.push(card(id, id, agentColourIndex(id, AGENT_PALETTE_SIZE), !logged))
  const totals: AgentUsage = { tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 }
  for (const s of states.values()) {
    totals.tokensIn += s.tokensIn
    totals.tokensOut += s.tokensOut
    totals.costUsd += s.costUsd
    totals.turns += s.turns
  }
  const byId = new Map(cards.map((c) => [c.id, c]))
  return {
    roster,
    logged,
    cards,
    totals,
    colourOf: (id) => byId.get(id)?.colour ?? agentColourIndex(id, AGENT_PALETTE_SIZE),
    nameOf: (id) => byId.get(id)?.name ?? id,
  }
}

/** `@` completion: the roster's agents whose id or name starts with what follows the `@`. */
export function mentionCandidates<A extends Roster['agents'][number]>(roster: { agents: readonly A[] }, query: string): A[] {
  const q = query.toLowerCase()
  return roster.agents.filter((a) => a.id.startsWith(q) || a.name.toLowerCase().startsWith(q))
}

/**
 * The `@word` being typed at `caret` in `text`, if any: where it starts (the `@`) and what follows
 * it. An `@` inside a word (an e-mail address) does not start a mention, as in mentionTokens.
 */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const m = /(^|[^\w@.])@([A-Za-z][\w-]{0,31})?$/.exec(before)
  if (!m) return null
  const query = m[2] ?? ''
  return { start: caret - query.length - 1, query }
}

/** The text with the mention at `start` (up to `caret`) replaced by `@<id> `, and the new caret. */
export function insertMention(text: string, start: number, caret: number, agentId: string): { text: string; caret: number } {
  const inserted = `@${agentId} `
  const rest = text.slice(caret).replace(/^\S*\s?/, '')
  return { text: text.slice(0, start) + inserted + rest, caret: start + inserted.length }
}
