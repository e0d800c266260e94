/**
 * What a worker starts with: its session id, the server URL and its worker token, from the
 * environment (TETHER_SESSION_ID, TETHER_SERVER_URL, TETHER_WORKER_TOKEN; src/lib/settings/worker-settings.ts) or, for a warm-pool
 * worker (TETHER_WARM=1), from one JSON line on stdin when it is claimed. Everything else (agent
 * id, model, allowed tools) is derived from the token and the session.
 */
import { sessionApiPath, sessionStreamUrl } from '../lib/common/session-contract'
import { sessionModelName } from '../lib/gateway/model-name'
import { TOOL_NAMES, type ToolName } from './events'
import { log } from './log'

// Parsed from the environment by the settings front door (loadWorkerSettings, called by main.ts).
import type { WorkerIdentity, WorkerSettings } from '../lib/settings/worker-settings'
export type { WorkerIdentity, WorkerSettings } from '../lib/settings/worker-settings'

export function parseClaim(line: string): WorkerIdentity {
  const claim = JSON.parse(line) as Partial<WorkerIdentity>
  if (typeof claim.sessionId !== 'string' || typeof claim.serverUrl !== 'string' || typeof claim.token !== 'string') {
    throw new Error('a claim is {"sessionId","serverUrl","token"}')
  }
  return { sessionId: claim.sessionId, serverUrl: claim.serverUrl, token: claim.token }
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

export interface SessionConfig {
  model: string
  tools: ToolName[]
  system?: string
  /** The session's pattern; an `ephemeral` session's worker stops once its task is done. */
  pattern?: string
}

const DEFAULT_CONFIG: SessionConfig = { model: 'echo', tools: [...TOOL_NAMES] }

export function sessionConfigFrom(body: unknown): SessionConfig {
  const record = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const session = (typeof record.session === 'object' && record.session !== null ? record.session : record) as Record<string, unknown>
  const agent = (typeof session.agent === 'object' && session.agent !== null ? session.agent : {}) as Record<string, unknown>
  // The gateway serves only this model name.
  const model = sessionModelName(agent.provider ?? session.provider, agent.model ?? session.model)
  const toolsRaw = [agent.allowedTools, session.allowedTools, agent.tools, session.tools].find(Array.isArray) as unknown[] | undefined
  const tools = toolsRaw ? TOOL_NAMES.filter((t) => toolsRaw.includes(t)) : DEFAULT_CONFIG.tools
  const system = [agent.systemPrompt, session.systemPrompt].find((s): s is string => typeof s === 'string')
  const pattern = typeof session.pattern === 'string' ? session.pattern : undefined
  return { model, tools, ...(system ? { system } : {}), ...(pattern ? { pattern } : {}) }
}

/**
 * The session's model and allowed tools from `GET <server>/api/sessions/<id>` (worker token).
 * A server without that endpoint (a bare streams server) gives the defaults: echo, all tools.
 */
export async function fetchSessionConfig(identity: WorkerIdentity, fetchImpl: typeof fetch = fetch): Promise<SessionConfig> {
  const url = sessionApiPath(identity.sessionId, undefined, identity.serverUrl)
  try {
    const response = await fetchImpl(url, { headers: { authorization: `Bearer ${identity.token}`, accept: 'application/json' } })
    if (!response.ok) {
      log.warn({ status: response.status }, 'no session record; using defaults')
      return DEFAULT_CONFIG
    }
    return sessionConfigFrom(await response.json())
  } catch (err) {
    log.warn({ error: err instanceof Error ? err.message : String(err) }, 'session record unreadable; using defaults')
    return DEFAULT_CONFIG
  }
}
