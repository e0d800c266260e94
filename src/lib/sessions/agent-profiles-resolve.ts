/**
 * Sessions made from personal agent profiles (issue #11; specs/accounts.md, Personal agents):
 * `POST /api/sessions { agentProfileId }` (or `agent.profileId`), agent-list entries and
 * `POST /api/sessions/:id/agents` entries with `profileId`. The profile fills adapter, provider,
 * model, system prompt, tools and limits; fields the request gives win; `profileId` is kept (the
 * gateway pays the agent's calls with the profile's credential). The lookup (src/lib/accounts)
 * refuses a profile that is not the caller's (403; admins may use any) and an unknown one (404);
 * without it (no identity provider) any profileId is a 404.
 */
import { HttpError } from './http'
import type { AgentConfig, SessionAgentInput, SessionLimitsInput } from './session-types'
import type { TokenClaims } from './tokens'

/** What a profile contributes to an agent (never its credential). */
export interface ProfileDefaults {
  name: string
  config: Omit<AgentConfig, 'profileId'>
  limits: { maxBudgetUsd: number | null; maxTurns: number | null }
}

export type ProfileLookup = (claims: TokenClaims, profileId: string) => ProfileDefaults | Promise<ProfileDefaults>

const noProfiles = (): never => {
  throw new HttpError(404, 'agent profiles need sign-in, which is not configured on this server', 'profileId')
}

/** Takes `agentProfileId` off a create body (the session schema is strict and does not know it). */
export function takeAgentProfileId(raw: unknown): { rest: unknown; agentProfileId: string | undefined } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw) || !('agentProfileId' in raw)) return { rest: raw, agentProfileId: undefined }
  const { agentProfileId, ...rest } = raw as Record<string, unknown>
  if (typeof agentProfileId !== 'string' || agentProfileId.length === 0 || agentProfileId.length > 100) {
    throw new HttpError(400, 'agentProfileId must be a profile id (1-100 characters)', 'agentProfileId')
  }
  return { rest, agentProfileId }
}

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>

function fill(config: AgentConfig, profileId: string, d: ProfileDefaults): AgentConfig {
  return { ...defined(d.config), ...defined(config), profileId }
}

/** A session's single agent (`agent`, or `agentProfileId` for it): its config and the session limits the profile fills. */
export async function resolveSingleAgent(
  claims: TokenClaims,
  lookup: ProfileLookup | undefined,
  agent: AgentConfig | undefined,
  agentProfileId: string | undefined,
  limits: SessionLimitsInput | undefined,
): Promise<{ agent: AgentConfig | undefined; limits: SessionLimitsInput | undefined }> {
  if (agentProfileId !== undefined && agent?.profileId !== undefined && agent.profileId !== agentProfileId) {
    throw new HttpError(400, 'agentProfileId and agent.profileId name different profiles', 'agentProfileId')
  }
  const profileId = agentProfileId ?? agent?.profileId
  if (profileId === undefined) return { agent, limits }
  const d = await (lookup ?? noProfiles)(claims, profileId)
  return { agent: fill(agent ?? {}, profileId, d), limits: { ...defined(d.limits), ...limits } }
}

/** One agent-list entry (create, PATCH agents, POST …/agents). */
export async function resolveAgentEntry<T extends SessionAgentInput>(claims: TokenClaims, lookup: ProfileLookup | undefined, entry: T): Promise<T> {
  if (entry.profileId === undefined) return entry
  const d = await (lookup ?? noProfiles)(claims, entry.profileId)
  const { id, name, limits, ...config } = entry
  return { ...fill(config, entry.profileId, d), id, name: name ?? d.name, limits: { ...defined(d.limits), ...limits } } as T
}

/** A create or PATCH body: its single agent (and `agentProfileId`) and every agent-list entry. */
export async function resolveProfiles<
  T extends { agent?: AgentConfig | undefined; agents?: SessionAgentInput[] | undefined; limits?: SessionLimitsInput | undefined },
>(claims: TokenClaims, lookup: ProfileLookup | undefined, input: T, agentProfileId?: string): Promise<T> {
  if (agentProfileId !== undefined && input.agents) throw new HttpError(400, 'agentProfileId is for a single agent: give profileId on each agent instead', 'agentProfileId')
  const single = await resolveSingleAgent(claims, lookup, input.agent, agentProfileId, input.limits)
  const out = { ...input }
  if (single.agent !== undefined) out.agent = single.agent
  if (single.limits !== undefined) out.limits = single.limits
  if (input.agents) out.agents = await Promise.all(input.agents.map((a) => resolveAgentEntry(claims, lookup, a)))
  return out
}
