/** One agent in "My agents": what it runs, whether its key is set (never the key), Edit and Delete. */
import { useState } from 'react'
import { AgentProfileForm } from './AgentProfileForm'
import { deleteAgent, errorText, type AgentProfileView } from './api'

export function AgentProfileCard({ agent, onChanged }: { agent: AgentProfileView; onChanged: () => void }) {
  const [editing, setEditing] = useState(false)
  const [error, setError] = useState<string>()
  if (editing) return <AgentProfileForm agent={agent} onSaved={() => {
          setEditing(false)
          onChanged()
        }} onCancel={() => setEditing(false)} />
  const limits = [agent.limits.maxBudgetUsd !== null ? `$${agent.limits.maxBudgetUsd}` : null, agent.limits.maxTurns !== null ? `${agent.limits.maxTurns} turns` : null].filter(Boolean)
  return (
    <article className="card" data-testid="agent-card" data-agent-id={agent.id} style={{ padding: 16, display: 'grid', gap: 6 }}>
      <div style={{ display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' }}>
        <h3 style={{ margin: 0, fontSize: 15 }}>{agent.name}</h3>
        <span className="muted">
          {agent.adapter} · {agent.provider ?? 'no provider'}
          {agent.model ? ` · ${agent.model}` : ''}
        </span>
      </div>
      {agent.description ? <p style={{ margin: 0 }}>{agent.description}</p> : null}
      <p className="muted" style={{ margin: 0 }}>
        API key: <span data-testid="agent-card-credential">{agent.credential.set ? 'set' : 'not set'}</span>
        {limits.length ? ` · limits ${limits.join(', ')}` : ''}
      </p>
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
      <div style={{ display: 'flex', gap: 8 }}>
        <button type="button" className="btn btn-sm" data-testid="agent-edit" onClick={() => setEditing(true)}>
          Edit
        </button>
        <button
          type="button"
          className="btn btn-sm btn-ghost"
          data-testid="agent-delete"
          onClick={() => {
            if (!window.confirm(`Delete the agent "${agent.name}"? Sessions made from it keep running without its key.`)) return
            deleteAgent(agent.id).then(onChanged, (err: unknown) => setError(errorText(err)))
          }}
        >
          Delete
        </button>
      </div>
    </article>
  )
}
