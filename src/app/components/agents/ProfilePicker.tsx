/**
 * The new-session dialog's agent choice for a signed-in person (issue #11): one of their agents,
 * or a provider and model typed by hand. With no agent yet it says "No agent configured" and
 * offers to create one ("Creating a session without an agent prompts the person to create one").
 * Renders nothing without sign-in: the dialog is then as before.
 */
import { Link } from '@tanstack/react-router'
import type { AgentProfileView } from './api'

export function ProfilePicker({ agents, value, onChange }: { agents: AgentProfileView[]; value: string; onChange: (id: string) => void }) {
  if (agents.length === 0) {
    return (
      <div className="card" data-testid="ns-no-agent" style={{ padding: 12, display: 'flex', gap: 12, alignItems: 'center', flexWrap: 'wrap' }}>
        <div style={{ flex: '1 1 200px' }}>
          <strong>No agent configured</strong>
          <div className="field-hint">Create your agent with your own API key, or pick a provider and model below for this session only.</div>
        </div>
        <Link to="/agents" className="btn btn-sm btn-primary" data-testid="ns-create-agent">
          Create an agent
        </Link>
      </div>
    )
  }
  return (
    <div className="field">
      <label htmlFor="ns-profile">Agent</label>
      <select id="ns-profile" data-testid="ns-profile" className="select" value={value} onChange={(e) => onChange(e.target.value)}>
        {agents.map((a) => (
          <option key={a.id} value={a.id}>
            {a.name} ({a.adapter}
            {a.model ? `, ${a.model}` : ''})
          </option>
        ))}
        <option value="">Another provider and model…</option>
      </select>
      <span className="field-hint">
        <Link to="/agents">Manage my agents</Link>
      </span>
    </div>
  )
}
