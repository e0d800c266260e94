/**
 * What a worker starts with: its session id, the server URL and its worker token, from the
 * environment (TETHER_SESSION_ID, TETHER_SERVER_URL, TETHER_WORKER_TOKEN; src/lib/settings/worker-settings.ts) or, for a warm-pool
 * worker (TETHER_WARM=1), from one JSON line on stdin when it is claimed. Everything else (agent
 * id, model, allowed tools) is derived from the token and the session.
 */
import { AGENT_ID_PATTERN, DEFAULT_AGENT_ID } from '../lib/common/agent-roster'
import { AGENT_ADAPTERS, type AgentAdapterName, sessionApiPath, sessionStreamUrl } from '../lib/common/session-contract'
import { sessionModelName } from '../lib/gateway/model-name'
import { TOOL_NAMES, type ToolName } from './events'
import { httpFetch } from './http-fetch'
import { log } from './log'

// Parsed from the environment by the settings front door (loadWorkerSettings, called by main.ts).
import { parseEpoch, type WorkerIdentity, type WorkerSettings } from '../lib/settings/worker-settings'
export type { WorkerIdentity, WorkerSettings } from '../lib/settings/worker-settings'

export function parseClaim(line: string): WorkerIdentity {
  return parseClaimLine(line).identity
}

/** A claim line: the identity, and the session's setup when the server sent it (src/lib/workers/claim-session.ts). */
export interface ClaimLine {
  identity: WorkerIdentity
  /** The session record's pattern, agents and routing; absent: fetch the record. */
  session?: Record<string, unknown>
}

export function parseClaimLine(line: string): ClaimLine {
  const claim = JSON.parse(line) as Partial<WorkerIdentity> & { session?: unknown }
  if (typeof claim.sessionId !== 'string' || typeof claim.serverUrl !== 'string' || typeof claim.token !== 'string') {
    throw new Error('a claim is {"sessionId","serverUrl","token"}')
  }
  const epoch = parseEpoch(claim.epoch)
  const identity: WorkerIdentity = { sessionId: claim.sessionId, serverUrl: claim.serverUrl, token: claim.token, ...(epoch ? { epoch } : {}) }
  const session = typeof claim.session === 'object' && claim.session !== null && !Array.isArray(claim.session) ? claim.session : undefined
  return session ? { identity, session: session as Record<string, unknown> } : { identity }
}

/** The setup a claim carried, as fetchSessionSetup would give it from the record. */
export function sessionSetupFrom(session: unknown): { config: SessionConfig; agents: SessionAgents } {
  return { config: sessionConfigFrom(session), agents: sessionAgentsFrom(session) }
}

/** The token's subject (the agent id). The worker only reads its own token; the server verifies it. */
export function tokenSubject(token: string): string {
  const payload = token.split('.')[1]
  if (!payload) throw new Error('the worker token is not a JWT')
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown; role?: unknown }
  if (typeof claims.sub !== 'string' || !claims.sub) throw new Error('the worker token has no subject (agent id)')
  return claims.sub
}

export const streamUrl = (identity: WorkerIdentity, settings: WorkerSettings): string =>
  sessionStreamUrl(`${identity.serverUrl.replace(/\/+$/, '')}${settings.streamsPath}`, identity.sessionId)

/** One agent's model, tools and prompt. */
export interface AgentRunConfig {
  model: string
  tools: ToolName[]
  system?: string
  /** The agent program (issue #11); Tether's own loop when absent. */
  adapter?: Exclude<AgentAdapterName, 'tether'>
}

export interface SessionConfig extends AgentRunConfig {
  /** The session's pattern; an `ephemeral` session's worker stops once its task is done. */
  pattern?: string
}

/**
 * Each agent's config by id (issue #15: `session.agents[]`). A record without a list (seed
 * 001's single `agent` config) has one entry, `agent`, the same as the session's config.
 */
export interface SessionAgents {
  agents: Map<string, AgentRunConfig & { name: string }>
  /** The agent that answers unaddressed messages and owns the terminal. */
  defaultAgent: string
}

const DEFAULT_CONFIG: SessionConfig = { model: 'echo', tools: [...TOOL_NAMES] }

const asRecord = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>
const sessionOf = (body: unknown): Record<string, unknown> => {
  const record = asRecord(body)
  return asRecord(typeof record.session === 'object' && record.session !== null ? record.session : record)
}

function runConfigOf(agent: Record<string, unknown>, session: Record<string, unknown>): AgentRunConfig {
  // The gateway serves only this model name.
  const model = sessionModelName(agent.provider ?? session.provider, agent.model ?? session.model)
  const toolsRaw = [agent.allowedTools, session.allowedTools, agent.tools, session.tools].find(Array.isArray) as unknown[] | undefined
  const tools = toolsRaw ? TOOL_NAMES.filter((t) => toolsRaw.includes(t)) : DEFAULT_CONFIG.tools
  const system = [agent.systemPrompt, session.systemPrompt].find((s): s is string => typeof s === 'string')
  const adapter = AGENT_ADAPTERS.find((a) => a !== 'tether' && a === agent.adapter) as AgentRunConfig['adapter']
  return { model, tools, ...(system ? { system } : {}), ...(adapter ? { adapter } : {}) }
}

export function sessionConfigFrom(body: unknown): SessionConfig {
  const session = sessionOf(body)
  const pattern = typeof session.pattern === 'string' ? session.pattern : undefined
  return { ...runConfigOf(asRecord(session.agent), session), ...(pattern ? { pattern } : {}) }
}

export function sessionAgentsFrom(body: unknown): SessionAgents {
  const session = sessionOf(body)
  const agents = new Map<string, AgentRunConfig & { name: string }>()
  for (const raw of Array.isArray(session.agents) ? session.agents : []) {
    const agent = asRecord(raw)
    if (typeof agent.id !== 'string' || !AGENT_ID_PATTERN.test(agent.id)) continue
    // Each agent's own fields only: a session-level model or prompt is the single-agent form's.
    agents.set(agent.id, { ...runConfigOf(agent, {}), name: typeof agent.name === 'string' ? agent.name : agent.id })
  }
  if (agents.size === 0) agents.set(DEFAULT_AGENT_ID, { ...sessionConfigFrom(body), name: DEFAULT_AGENT_ID })
  const routing = asRecord(session.routing)
  const defaultAgent =
    typeof routing.defaultAgent === 'string' && agents.has(routing.defaultAgent) ? routing.defaultAgent : [...agents.keys()][0]!
  return { agents, defaultAgent }
}

/** The config of `agentId`: its own entry, else (a token naming an agent the record lacks) the session's. */
export function agentRunConfig(config: SessionConfig, agents: SessionAgents, agentId: string): AgentRunConfig {
  const own = agents.agents.get(agentId)
  if (!own) {
    const { pattern: _pattern, ...run } = config
    return run
  }
  const { name: _name, ...run } = own
  return run
}

/**
 * The session's model and allowed tools from `GET <server>/api/sessions/<id>` (worker token),
 * with each agent's own (issue #15).
 * A server without that endpoint (a bare streams server) gives the defaults: echo, all tools.
 */
export async function fetchSessionSetup(
  identity: WorkerIdentity,
  fetchImpl: typeof fetch = httpFetch,
): Promise<{ config: SessionConfig; agents: SessionAgents }> {
  const url = sessionApiPath(identity.sessionId, undefined, identity.serverUrl)
  let body: unknown = {}
  try {
    const response = await fetchImpl(url, { headers: { authorization: `Bearer ${identity.token}`, accept: 'application/json' } })
    if (response.ok) body = await response.json()
    else log.warn({ status: response.status }, 'no session record; using defaults')
  } catch (err) {
    log.warn({ error: err instanceof Error ? err.message : String(err) }, 'session record unreadable; using defaults')
  }
  return sessionSetupFrom(body)
}

export async function fetchSessionConfig(identity: WorkerIdentity, fetchImpl: typeof fetch = httpFetch): Promise<SessionConfig> {
  return (await fetchSessionSetup(identity, fetchImpl)).config
}

/** The server would not issue an agent's token; `status` is its HTTP answer. */
export class AgentTokenError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/**
 * A worker token for another agent of this single-container session (issue #15):
 * `POST <server>/api/sessions/<id>/agents/<agentId>/token` with this worker's token → `{ token }`.
 */
export async function fetchAgentToken(identity: WorkerIdentity, agentId: string, fetchImpl: typeof fetch = httpFetch): Promise<string> {
  const url = `${sessionApiPath(identity.sessionId, undefined, identity.serverUrl)}/agents/${encodeURIComponent(agentId)}/token`
  const response = await fetchImpl(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${identity.token}`, accept: 'application/json' },
  })
  if (!response.ok) {
    const text = (await response.text().catch(() => '')).slice(0, 300)
    throw new AgentTokenError(`agent token for ${agentId}: ${response.status} ${text}`, response.status)
  }
  const body = (await response.json()) as { token?: unknown }
  if (typeof body.token !== 'string') throw new Error(`agent token for ${agentId}: no token in the answer`)
  return body.token
}
