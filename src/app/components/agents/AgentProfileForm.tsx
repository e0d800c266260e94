/**
 * Create or edit one personal agent: name, description, adapter, provider and model, system
 * prompt, allowed tools, default limits and the provider credential. The credential is a password
 * box that is never filled from the server (which never sends it): an existing one shows "set"
 * with Replace and Clear; an empty box leaves it as it is.
 */
import { useState, type FormEvent } from 'react'
import { AGENT_ADAPTERS, type AgentAdapterName } from '../../../lib/common/session-contract'
import type { CreateProfileInput, UpdateProfileInput } from '../../../lib/accounts/agent-profile-types'
import { PROVIDERS } from '../AgentFields'
import { createAgent, errorText, updateAgent, type AgentProfileView } from './api'

const ADAPTER_LABEL: Record<AgentAdapterName, string> = { tether: 'Tether agent', opencode: 'OpenCode', 'claude-agent-sdk': 'Claude Agent SDK' }

const num = (s: string) => (s.trim() && Number.isFinite(Number(s)) && Number(s) > 0 ? Number(s) : null)

export function AgentProfileForm({ agent, onSaved, onCancel }: { agent?: AgentProfileView; onSaved: () => void; onCancel?: () => void }) {
  const [name, setName] = useState(agent?.name ?? '')
  const [description, setDescription] = useState(agent?.description ?? '')
  const [adapter, setAdapter] = useState<AgentAdapterName>(agent?.adapter ?? 'tether')
  const [provider, setProvider] = useState(agent?.provider ?? 'anthropic')
  const [model, setModel] = useState(agent?.model ?? PROVIDERS.find((p) => p.id === 'anthropic')?.model ?? '')
  const [systemPrompt, setSystemPrompt] = useState(agent?.systemPrompt ?? '')
  const [tools, setTools] = useState((agent?.allowedTools ?? []).join(', '))
  const [budget, setBudget] = useState(agent?.limits.maxBudgetUsd?.toString() ?? '')
  const [turns, setTurns] = useState(agent?.limits.maxTurns?.toString() ?? '')
  const [credential, setCredential] = useState('')
  /** Editing an agent whose credential is set: the box shows only after Replace. */
  const [replacing, setReplacing] = useState(!agent?.credential.set)
  const [clear, setClear] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()
  const p = agent ? `agent-${agent.id}` : 'agent-new'

  async function submit(e: FormEvent) {
    e.preventDefault()
    setBusy(true)
    setError(undefined)
    const allowedTools = tools
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
    try {
      if (agent) {
        const patch: UpdateProfileInput = {
          name: name.trim(),
          description: description.trim() || null,
          adapter,
          provider: provider || null,
          model: model.trim() || null,
          systemPrompt: systemPrompt.trim() || null,
          allowedTools: allowedTools.length ? allowedTools : null,
          limits: { maxBudgetUsd: num(budget), maxTurns: num(turns) },
          ...(clear ? { credential: null } : credential.trim() ? { credential: credential.trim() } : {}),
        }
        await updateAgent(agent.id, patch)
      } else {
        const input: CreateProfileInput = {
          name: name.trim(),
          adapter,
          ...(description.trim() ? { description: description.trim() } : {}),
          ...(provider ? { provider } : {}),
          ...(model.trim() ? { model: model.trim() } : {}),
          ...(systemPrompt.trim() ? { systemPrompt: systemPrompt.trim() } : {}),
          ...(allowedTools.length ? { allowedTools } : {}),
          limits: { maxBudgetUsd: num(budget), maxTurns: num(turns) },
          ...(credential.trim() ? { credential: credential.trim() } : {}),
        }
        await createAgent(input)
        setName('')
        setDescription('')
        setSystemPrompt('')
        setTools('')
      }
      setCredential('')
      setClear(false)
      onSaved()
    } catch (err) {
      setError(errorText(err))
    } finally {
      setBusy(false)
    }
  }

  return (
    <form className="card agent-profile-form" data-testid={agent ? 'agent-edit-form' : 'agent-form'} onSubmit={(e) => void submit(e)} style={{ padding: 16, display: 'grid', gap: 12 }}>
      <h2 style={{ margin: 0, fontSize: 16 }}>{agent ? `Edit ${agent.name}` : 'New agent'}</h2>
      <div className="field">
        <label htmlFor={`${p}-name`}>Name</label>
        <input id={`${p}-name`} data-testid="agent-name" className="input" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
      </div>
      <div className="field">
        <label htmlFor={`${p}-description`}>Description</label>
        <input id={`${p}-description`} className="input" value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
      </div>
      <div className="grid-2">
        <div className="field">
          <label htmlFor={`${p}-adapter`}>Runs as</label>
          <select id={`${p}-adapter`} data-testid="agent-adapter" className="select" value={adapter} onChange={(e) => setAdapter(e.target.value as AgentAdapterName)}>
            {AGENT_ADAPTERS.map((a) => (
              <option key={a} value={a}>
                {ADAPTER_LABEL[a]}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${p}-provider`}>Provider</label>
          <select
            id={`${p}-provider`}
            data-testid="agent-provider"
            className="select"
            value={provider}
            onChange={(e) => {
              setProvider(e.target.value)
              setModel(PROVIDERS.find((x) => x.id === e.target.value)?.model ?? '')
            }}
          >
            {PROVIDERS.map((x) => (
              <option key={x.id} value={x.id}>
                {x.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${p}-model`}>Model</label>
        <input id={`${p}-model`} data-testid="agent-model" className="input" value={model} onChange={(e) => setModel(e.target.value)} maxLength={200} />
      </div>
      <div className="field">
        <label htmlFor={`${p}-prompt`}>System prompt</label>
        <textarea id={`${p}-prompt`} className="textarea" rows={3} value={systemPrompt} onChange={(e) => setSystemPrompt(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={`${p}-tools`}>Allowed tools</label>
        <input id={`${p}-tools`} className="input" value={tools} onChange={(e) => setTools(e.target.value)} placeholder="empty = the adapter's tools; else e.g. shell, read" />
      </div>
      <div className="grid-2">
        <div className="field">
          <label htmlFor={`${p}-budget`}>Budget per session (USD)</label>
          <input id={`${p}-budget`} className="input" inputMode="decimal" value={budget} onChange={(e) => setBudget(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${p}-turns`}>Max turns</label>
          <input id={`${p}-turns`} className="input" inputMode="numeric" value={turns} onChange={(e) => setTurns(e.target.value)} />
        </div>
      </div>
      <div className="field">
        <label htmlFor={`${p}-credential`}>
          API key <span className="field-hint">(yours; kept encrypted on the server, never shown again)</span>
        </label>
        {replacing && !clear ? (
          <input
            id={`${p}-credential`}
            data-testid="agent-credential"
            className="input"
            type="password"
            autoComplete="new-password"
            value={credential}
            onChange={(e) => setCredential(e.target.value)}
            placeholder={agent?.credential.set ? 'new key (empty: keep the current one)' : 'not set'}
          />
        ) : (
          <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
            <span className="muted" data-testid="agent-credential-state">
              {clear ? 'will be cleared' : 'set'}
            </span>
            <button type="button" className="btn btn-sm" data-testid="agent-credential-replace" onClick={() => {
                setReplacing(true)
                setClear(false)
              }}>
              Replace
            </button>
            {clear ? null : (
              <button type="button" className="btn btn-sm btn-ghost" data-testid="agent-credential-clear" onClick={() => setClear(true)}>
                Clear
              </button>
            )}
          </div>
        )}
      </div>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div style={{ display: 'flex', gap: 8, justifyContent: 'flex-end' }}>
        {onCancel ? (
          <button type="button" className="btn" onClick={onCancel}>
            Cancel
          </button>
        ) : null}
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="agent-save">
          {busy ? 'Saving…' : agent ? 'Save' : 'Create agent'}
        </button>
      </div>
    </form>
  )
}
