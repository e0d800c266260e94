/**
 * Where a profile is used, the two places that matter for its owner's money and secret:
 * - `lookup`: a session or agent made from a profile (src/lib/sessions/agent-profiles-resolve.ts)
 *   only by its owner or an admin; 404 for an unknown one;
 * - `providerEnvFor`: the model gateway asks, per call, which credential pays for an agent's
 *   calls. This is the only place the credential is decrypted, and it goes nowhere but the
 *   provider request the gateway builds (which adds it to its redaction list).
 */
import type { ProviderEnv } from '../gateway/providers'
import { HttpError } from '../sessions/http'
import type { ProfileDefaults, ProfileLookup } from '../sessions/agent-profiles-resolve'
import { agentOf } from '../sessions/session-agents'
import type { SessionRecord } from '../sessions/session-types'
import { ALL_SESSIONS } from '../sessions/tokens'
import type { ProfileStore } from './profile-store'
import { CREDENTIALS_KEY_FILE } from './credential-cipher'
import type { AgentProfileRow } from '../db/schema/agent-profiles'

export function defaultsOf(p: AgentProfileRow): ProfileDefaults {
  const config = {
    adapter: p.adapter as NonNullable<ProfileDefaults['config']['adapter']>,
    ...(p.provider ? { provider: p.provider } : {}),
    ...(p.model ? { model: p.model } : {}),
    ...(p.systemPrompt ? { systemPrompt: p.systemPrompt } : {}),
    ...(p.allowedTools ? { allowedTools: p.allowedTools } : {}),
  }
  return { name: p.name, config, limits: { maxBudgetUsd: p.maxBudgetUsd, maxTurns: p.maxTurns } }
}

export function profileLookup(store: ProfileStore): ProfileLookup {
  return async (claims, profileId) => {
    const p = await store.get(profileId)
    if (!p) throw new HttpError(404, `unknown agent profile ${profileId}`, 'profileId')
    const admin = claims.role === 'admin' && claims.sid === ALL_SESSIONS
    if (!admin && (claims.account === undefined || claims.account !== p.userId)) {
      throw new HttpError(403, 'only the owner of an agent profile (or an admin) may run it: its credential pays for the calls', 'profileId')
    }
    return defaultsOf(p)
  }
}

/** Which provider setting a profile's credential stands in for. */
const KEY_OF: Record<string, keyof ProviderEnv> = { anthropic: 'ANTHROPIC_API_KEY', openai: 'TETHER_OPENAI_API_KEY' }

export function providerEnvFor(store: ProfileStore, enabled: () => boolean) {
  return async (session: SessionRecord, agentId: string): Promise<ProviderEnv | null> => {
    if (!enabled()) return null
    const profileId = agentOf(session, agentId)?.profileId
    if (!profileId) return null
    const profile = await store.get(profileId)
    const key = profile?.provider ? KEY_OF[profile.provider] : undefined
    if (!profile || !key) return null
    let credential: string | null
    try {
      credential = store.credentialOf(profile)
    } catch {
      // Refused rather than paid with the server's keys: the agent's owner meant their own key to pay.
      throw new HttpError(503, `the API key of agent profile ${profileId} cannot be decrypted (the data dir's ${CREDENTIALS_KEY_FILE} changed?): its owner must set it again`, 'credential')
    }
    return credential ? { [key]: credential } : null
  }
}
