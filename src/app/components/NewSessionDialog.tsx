import { useState, type FormEvent, type InputHTMLAttributes, type ReactNode } from 'react'
import { SESSION_PATTERNS, type SessionPattern } from '../../lib/sessions/session-states'
import type { CreateSessionInput } from '../../lib/sessions/session-types'
import { AGENT_ID_PATTERN } from '../../lib/common/agent-roster'
import { AgentFields, agentInput, newAgentDraft, PROVIDERS, type AgentDraft } from './AgentFields'
import { Dialog } from './Dialog'
import { ProfilePicker } from './agents/ProfilePicker'
import { useAgentProfiles } from './agents/use-agent-profiles'
import { useAccount } from '../hooks/use-account'

const PATTERN_HELP: Record<SessionPattern, string> = {
  ephemeral: 'One task, then the agent and its container go away.',
  'long-running': 'Stays up until you end it.',
  hybrid: 'Sleeps when idle, wakes on the next message.',
  'single-container': 'Every agent in one container: one sandbox, one work dir, until you end it.',
}

/** Why a list of agents would be refused, said before the round trip (the server checks too). */
function agentListProblem(rows: readonly AgentDraft[]): string | undefined {
  const ids = rows.map((r) => r.id.trim())
  const bad = ids.find((id) => !AGENT_ID_PATTERN.test(id))
  if (bad !== undefined) return `agent id "${bad}": 1-32 of a-z, 0-9, _ and -, starting with a letter`
  if (new Set(ids).size !== ids.length) return 'agent ids must be unique'
  return undefined
}

function numberOrNull(value: string, scale = 1): number | null {
  const n = Number(value)
  return value.trim() && Number.isFinite(n) && n > 0 ? Math.round(n * scale * 100) / 100 : null
}

/** A form row: a label for the control `id` (the child), and a hint under it when there is one. */
function Field({ id, label, hint, children }: { id: string; label: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? <span className="field-hint">{hint}</span> : null}
    </div>
  )
}

/** A form row with a text box bound to one piece of the form's state. */
function TextField({
  id,
  label,
  value,
  onChange,
  ...input
}: { id: string; label: string; value: string; onChange: (value: string) => void } & Pick<
  InputHTMLAttributes<HTMLInputElement>,
  'placeholder' | 'maxLength' | 'inputMode'
>) {
  return (
    <Field id={id} label={label}>
      <input id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)} {...input} />
    </Field>
  )
}

/** What the dialog sends: a session, from one of the person's agents when `agentProfileId` is set. */
export type NewSessionInput = CreateSessionInput & { agentProfileId?: string }

export function NewSessionDialog({ onCreate, onClose }: { onCreate: (input: NewSessionInput) => Promise<void>; onClose: () => void }) {
  // A signed-in person's own agents (issue #11); nothing is asked without sign-in.
  const account = useAccount()
  const profiles = useAgentProfiles(!!account.user)
  /** The chosen agent profile; '' = provider and model typed here; null = the first of theirs once loaded. */
  const [profileChoice, setProfileChoice] = useState<string | null>(null)
  const profileId = profileChoice ?? profiles.agents[0]?.id ?? ''
  const [title, setTitle] = useState('')
  const [pattern, setPattern] = useState<SessionPattern>('hybrid')
  const [provider, setProvider] = useState('echo')
  const [model, setModel] = useState('echo')
  const [idleMin, setIdleMin] = useState('30')
  const [lifetimeMin, setLifetimeMin] = useState('')
  const [budget, setBudget] = useState('5')
  const [turns, setTurns] = useState('')
  /** several agents (issue #15): null = one agent from the provider/model fields above */
  const [rows, setRows] = useState<AgentDraft[] | null>(null)
  const [unaddressed, setUnaddressed] = useState<'default' | 'all'>('default')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const problem = rows ? agentListProblem(rows) : undefined
    if (problem) {
      setError(problem)
      return
    }
    setBusy(true)
    setError(undefined)
    const limits = {
      maxIdleTimeMs: numberOrNull(idleMin, 60_000),
      maxLifetimeMs: numberOrNull(lifetimeMin, 60_000),
      maxBudgetUsd: numberOrNull(budget),
      maxTurns: numberOrNull(turns),
    }
    try {
      await onCreate({
        title: title.trim() || undefined,
        pattern,
        ...(rows
          ? { agents: rows.map(agentInput), routing: { unaddressed } }
          : profileId
            ? { agentProfileId: profileId }
            : { agent: { provider, model: model.trim() || undefined } }),
        limits: Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== null)),
      })
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title="New session" onClose={onClose}>
      <form onSubmit={submit} style={{ display: 'contents' }} data-testid="new-session-form">
        <TextField
          id="ns-title"
          label="Title"
          value={title}
          onChange={setTitle}
          placeholder="e.g. Fix the flaky upload test"
          maxLength={200}
        />
        <Field id="ns-pattern" label="Pattern" hint={PATTERN_HELP[pattern]}>
          <select id="ns-pattern" className="select" value={pattern} onChange={(e) => setPattern(e.target.value as SessionPattern)}>
            {SESSION_PATTERNS.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        {rows ? (
          <AgentRows rows={rows} setRows={setRows} unaddressed={unaddressed} setUnaddressed={setUnaddressed} profiles={profiles.agents} />
        ) : (
          <>
            {account.user && profiles.loaded ? <ProfilePicker agents={profiles.agents} value={profileId} onChange={setProfileChoice} /> : null}
            {/* A chosen agent brings its own provider and model (display, not `hidden`: .grid-2 sets display). */}
            <div className="grid-2" style={profileId ? { display: 'none' } : undefined}>
              <Field id="ns-provider" label="Provider">
                <select
                  id="ns-provider"
                  className="select"
                  value={provider}
                  onChange={(e) => {
                    setProvider(e.target.value)
                    setModel(PROVIDERS.find((p) => p.id === e.target.value)?.model ?? '')
                  }}
                >
                  {PROVIDERS.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.label}
                    </option>
                  ))}
                </select>
              </Field>
              <TextField id="ns-model" label="Model" value={model} onChange={setModel} />
            </div>
            <button
              type="button"
              className="btn btn-sm btn-ghost"
              style={{ justifySelf: 'start' }}
              onClick={() => {
                setRows([{ ...newAgentDraft('a'), provider, model }, newAgentDraft('b')])
                setPattern('single-container')
              }}
              data-testid="ns-several-agents"
            >
              + Several agents
            </button>
          </>
        )}
        <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
          <legend className="field-label" style={{ marginBottom: 6 }}>
            Limits <span className="field-hint">(empty = none)</span>
          </legend>
          <div className="grid-2">
            <TextField id="ns-idle" label="Idle after (min)" inputMode="decimal" value={idleMin} onChange={setIdleMin} />
            <TextField id="ns-life" label="Lifetime (min)" inputMode="decimal" value={lifetimeMin} onChange={setLifetimeMin} />
            <TextField id="ns-budget" label="Budget (USD)" inputMode="decimal" value={budget} onChange={setBudget} />
            <TextField id="ns-turns" label="Max turns" inputMode="numeric" value={turns} onChange={setTurns} />
          </div>
        </fieldset>
        {error ? (
          <p className="form-error" role="alert">
            {error}
          </p>
        ) : null}
        <div className="dialog-foot" style={{ padding: 0 }}>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="create-session">
            {busy ? 'Creating…' : 'Create session'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}

/** The agent list of a new session (issue #15): one row per agent, and who answers unaddressed messages. */
function AgentRows({
  rows,
  setRows,
  unaddressed,
  setUnaddressed,
  profiles,
}: {
  profiles: readonly { id: string; name: string }[]
  rows: AgentDraft[]
  setRows: (rows: AgentDraft[] | null) => void
  unaddressed: 'default' | 'all'
  setUnaddressed: (value: 'default' | 'all') => void
}) {
  return (
    <div className="agent-rows" data-testid="ns-agent-rows">
      {rows.map((row, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity but their place (ids are being typed)
        <div className="agent-row" key={i}>
          <div className="agent-row-head">
            <span>
              Agent {i + 1}
              {i === 0 ? ' (default: answers messages that name no agent)' : ''}
            </span>
            <button
              type="button"
              className="btn btn-sm btn-ghost"
              onClick={() => setRows(rows.length > 1 ? rows.filter((_, j) => j !== i) : null)}
              aria-label={`Remove agent ${i + 1}`}
            >
              Remove
            </button>
          </div>
          <AgentFields prefix={`ns-agent-${i}`} profiles={profiles} draft={row} onChange={(d) => setRows(rows.map((r, j) => (j === i ? d : r)))} />
        </div>
      ))}
      <div className="grid-2">
        <button type="button" className="btn btn-sm" onClick={() => setRows([...rows, newAgentDraft()])} disabled={rows.length >= 16}>
          + Add agent
        </button>
        <Field id="ns-unaddressed" label="A message that names no agent goes to">
          <select
            id="ns-unaddressed"
            className="select"
            value={unaddressed}
            onChange={(e) => setUnaddressed(e.target.value === 'all' ? 'all' : 'default')}
          >
            <option value="default">the default agent</option>
            <option value="all">every agent</option>
          </select>
        </Field>
      </div>
    </div>
  )
}
