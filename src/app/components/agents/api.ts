/**
 * The "My agents" page's calls to /api/agents (src/lib/accounts/profiles-api.ts), with the
 * sign-in cookie (same origin: the browser adds Origin to writes, which the server's CSRF check
 * wants). Answers never hold a credential, only whether one is set.
 */
import type { AgentProfileView, CreateProfileInput, UpdateProfileInput } from '../../../lib/accounts/agent-profile-types'

export type { AgentProfileView }

export class AgentsApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message)
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init, headers: { 'content-type': 'application/json', ...(init.headers ?? {}) } })
  if (res.status === 204) return undefined as T
  const body = (await res.json().catch(() => ({}))) as { error?: string; field?: string }
  if (!res.ok) throw new AgentsApiError(res.status, body.error ?? `request failed (${res.status})`, body.field)
  return body as T
}

export const listAgents = async () => (await call<{ agents: AgentProfileView[] }>('/api/agents')).agents
export const createAgent = async (input: CreateProfileInput) =>
  (await call<{ agent: AgentProfileView }>('/api/agents', { method: 'POST', body: JSON.stringify(input) })).agent
export const updateAgent = async (id: string, input: UpdateProfileInput) =>
  (await call<{ agent: AgentProfileView }>(`/api/agents/${encodeURIComponent(id)}`, { method: 'PATCH', body: JSON.stringify(input) })).agent
export const deleteAgent = (id: string) => call<void>(`/api/agents/${encodeURIComponent(id)}`, { method: 'DELETE' })

export const errorText = (err: unknown) =>
  err instanceof AgentsApiError && err.field ? `${err.field}: ${err.message}` : err instanceof Error ? err.message : String(err)
