/**
 * Several agents in one session (issue #15): the roster and who answers a message. Pure and
 * browser-safe, no zod: the server (accepted turn records, the API), the worker (which turns are
 * its own, hand-offs) and the page (@ completion, names and colours) all route with these
 * functions, so they cannot disagree.
 *
 * The roster is logged in the session's stream as an agent-state entry `kind: 'roster'` (id
 * `roster`), written by the server when the session is created with an agent list and on every
 * change; a session without one has the implicit roster of its single agent `agent`.
 */

/** The agent of a session created with one `agent` config (and the id seed 001's routes use). */
export const DEFAULT_AGENT_ID = 'agent'
/** Agent ids are slugs: they appear in `@mentions`, message ids (`<agentId>:t<k>:s<s>`) and tokens. */
export const AGENT_ID_PATTERN = /^[a-z][a-z0-9_-]{0,31}$/
export const ROSTER_ENTRY_ID = 'roster'
/** Agent-to-agent turns in a row (no person's message between them) before hand-offs are refused. */
export const DEFAULT_MAX_AGENT_TURNS_IN_A_ROW = 4
export const MAX_AGENTS_PER_SESSION = 16

export type UnaddressedRouting = 'default' | 'all'

export interface RosterAgent {
  id: string
  name: string
}

export interface Roster {
  agents: RosterAgent[]
  /** Answers unaddressed messages (routing 'default'); always one of `agents` when there are any. */
  defaultAgent: string
  unaddressed: UnaddressedRouting
  maxAgentTurnsInARow: number
}

export const singleAgentRoster = (agentId = DEFAULT_AGENT_ID): Roster => ({
  agents: [{ id: agentId, name: agentId }],
  defaultAgent: agentId,
  unaddressed: 'default',
  maxAgentTurnsInARow: DEFAULT_MAX_AGENT_TURNS_IN_A_ROW,
})

/** `@word` tokens in text, lower-cased, in order of first appearance (an email's `a@b` is not one). */
export function mentionTokens(text: string): string[] {
  const out: string[] = []
  for (const m of text.matchAll(/(^|[^\w@.])@([A-Za-z][\w-]{0,31})/g)) {
    const word = m[2]!.toLowerCase().replace(/[-_]+$/, '')
    if (!out.includes(word)) out.push(word)
  }
  return out
}

/** Roster agents mentioned in `text` by `@id` or `@name` (case-insensitive), in mention order. */
export function mentionedAgents(text: string, roster: Pick<Roster, 'agents'>): string[] {
  const out: string[] = []
  for (const word of mentionTokens(text)) {
    const agent = roster.agents.find((a) => a.id === word || a.name.toLowerCase() === word)
    if (agent && !out.includes(agent.id)) out.push(agent.id)
  }
  return out
}

/**
 * Who answers a person's message: the agents it mentions; else the default agent (or every
 * agent with routing `all`). Empty only for a roster without agents.
 */
export function addressees(text: string, roster: Roster): string[] {
  const mentioned = mentionedAgents(text, roster)
  if (mentioned.length > 0) return mentioned
  if (roster.agents.length === 0) return []
  if (roster.unaddressed === 'all') return roster.agents.map((a) => a.id)
  return roster.agents.some((a) => a.id === roster.defaultAgent) ? [roster.defaultAgent] : [roster.agents[0]!.id]
}

/**
 * The hand-offs an agent's finished turn asks for: the other agents its reply mentions. `depth`
 * is the finishing turn's (0 = it answered a person); past the cap they are refused, with the
 * reason the turn record carries.
 */
export function handoffsOf(
  text: string,
  from: string,
  depth: number,
  roster: Roster,
): { to: string[]; refused: { to: string[]; reason: string } | null } {
  const to = mentionedAgents(text, roster).filter((id) => id !== from)
  if (to.length === 0) return { to: [], refused: null }
  if (depth + 1 > roster.maxAgentTurnsInARow) {
    return {
      to: [],
      refused: { to, reason: `agent-to-agent cap reached: ${roster.maxAgentTurnsInARow} agent turns in a row without a person's message` },
    }
  }
  return { to, refused: null }
}

/**
 * The turn record id of `agentId` answering `messageId`. The default agent keeps issue #10's
 * `turn:<messageId>`, so single-agent sessions are unchanged; others are `turn:<messageId>@<agentId>`.
 */
export function turnIdFor(messageId: string, agentId?: string): string {
  return agentId === undefined || agentId === DEFAULT_AGENT_ID ? `turn:${messageId}` : `turn:${messageId}@${agentId}`
}

/** A stable colour index for an agent (the page maps it to a palette). */
export function agentColourIndex(agentId: string, paletteSize: number): number {
  let h = 0
  for (let i = 0; i < agentId.length; i++) h = (h * 31 + agentId.charCodeAt(i)) >>> 0
  return h % paletteSize
}
