/**
 * The fields of one agent (issue #15): id, name, provider/model and system prompt. Used by the
 * "Add agent" dialog and by each agent row of the new-session dialog.
 */
import type { SessionAgentInput } from '../../lib/sessions/session-types'

export const PROVIDERS = [
  { id: 'echo', label: 'Echo (offline demo)', model: 'echo' },
  { id: 'anthropic', label: 'Anthropic', model: 'claude-sonnet-4-5' },
  { id: 'openai', label: 'OpenAI-compatible', model: 'gpt-4o-mini' },
]

export interface AgentDraft {
  id: string
  name: string
  provider: string
  model: string
  systemPrompt: string
  /** One of the person's agent profiles (issue #11): it brings provider, model, prompt and the rest; '' = none. */
  profileId: string
}

export const newAgentDraft = (id = ''): AgentDraft => ({ id, name: '', provider: 'echo', model: 'echo', systemPrompt: '', profileId: '' })

/** The API's agent input from a draft (empty fields left out, so the server's defaults apply). */
export function agentInput(draft: AgentDraft): SessionAgentInput {
  // The server fills the rest from the profile (src/lib/sessions/agent-profiles-resolve.ts).
  if (draft.profileId) return { id: draft.id.trim(), ...(draft.name.trim() ? { name: draft.name.trim() } : {}), profileId: draft.profileId }
  return {
    id: draft.id.trim(),
    ...(draft.name.trim() ? { name: draft.name.trim() } : {}),
    provider: draft.provider,
    ...(draft.model.trim() ? { model: draft.model.trim() } : {}),
    ...(draft.systemPrompt.trim() ? { systemPrompt: draft.systemPrompt.trim() } : {}),
  }
}

export function AgentFields({
  prefix,
  draft,
  onChange,
  profiles,
}: {
  prefix: string
  draft: AgentDraft
  onChange: (draft: AgentDraft) => void
  /** A signed-in person's agents to pick from; absent or empty: no choice shown. */
  profiles?: readonly { id: string; name: string }[]
}) {
  const set = (patch: Partial<AgentDraft>) => onChange({ ...draft, ...patch })
  // A chosen profile brings provider, model and prompt: those fields step aside.
  const own = draft.profileId ? { display: 'none' } : undefined
  return (
    <div className="agent-fields">
      {profiles?.length ? (
        <div className="field">
          <label htmlFor={`${prefix}-profile`}>From my agent</label>
          <select id={`${prefix}-profile`} className="select" value={draft.profileId} onChange={(e) => set({ profileId: e.target.value })} data-testid="agent-field-profile">
            <option value="">none: provider and model below</option>
            {profiles.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      <div className="grid-2">
        <div className="field">
          <label htmlFor={`${prefix}-id`}>Id</label>
          <input
            id={`${prefix}-id`}
            className="input"
            value={draft.id}
            onChange={(e) => set({ id: e.target.value })}
            placeholder="e.g. reviewer"
            maxLength={32}
            autoComplete="off"
            spellCheck={false}
            data-testid="agent-field-id"
          />
          <span className="field-hint">
            people write <code>@{draft.id.trim() || 'id'}</code> to address it
          </span>
        </div>
        <div className="field">
          <label htmlFor={`${prefix}-name`}>Name</label>
          <input
            id={`${prefix}-name`}
            className="input"
            value={draft.name}
            onChange={(e) => set({ name: e.target.value })}
            placeholder="e.g. Reviewer"
            maxLength={100}
            data-testid="agent-field-name"
          />
        </div>
        <div className="field" style={own}>
          <label htmlFor={`${prefix}-provider`}>Provider</label>
          <select
            id={`${prefix}-provider`}
            className="select"
            value={draft.provider}
            onChange={(e) => set({ provider: e.target.value, model: PROVIDERS.find((p) => p.id === e.target.value)?.model ?? '' })}
            data-testid="agent-field-provider"
          >
            {PROVIDERS.map((p) => (
              <option key={p.id} value={p.id}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field" style={own}>
          <label htmlFor={`${prefix}-model`}>Model</label>
          <input id={`${prefix}-model`} className="input" value={draft.model} onChange={(e) => set({ model: e.target.value })} />
        </div>
      </div>
      <div className="field" style={own}>
        <label htmlFor={`${prefix}-prompt`}>System prompt</label>
        <textarea
          id={`${prefix}-prompt`}
          className="textarea"
          rows={2}
          value={draft.systemPrompt}
          onChange={(e) => set({ systemPrompt: e.target.value })}
          placeholder="Optional: what this agent is for"
        />
      </div>
    </div>
  )
}
