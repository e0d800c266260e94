/**
 * "Add agent" on the session page (issue #15): admin or the session's owner. Posts the agent to
 * `POST /api/sessions/:id/agents`; a refusal (a taken id, a bad slug, no right) shows inline with
 * the server's reason and the dialog stays open.
 */
import { useState, type FormEvent } from 'react'
import { addAgent } from '../../lib/sessions/client/agent-api'
import { AGENT_ID_PATTERN } from '../../lib/common/agent-roster'
import { AgentFields, agentInput, newAgentDraft } from './AgentFields'
import { Dialog } from './Dialog'
import { useAgentProfiles } from './agents/use-agent-profiles'
import { useAccount } from '../hooks/use-account'

export function AddAgentDialog({
  sessionId,
  token,
  onAdded,
  onClose,
}: {
  sessionId: string
  token: string | undefined
  onAdded: () => void
  onClose: () => void
}) {
  const [draft, setDraft] = useState(newAgentDraft)
  // A signed-in owner may add one of their own agents (issue #11); nothing is asked without sign-in.
  const profiles = useAgentProfiles(!!useAccount().user)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string>()

  const submit = async (e: FormEvent) => {
    e.preventDefault()
    const input = agentInput(draft)
    // The same rule the server applies, said before the round trip.
    if (!AGENT_ID_PATTERN.test(input.id)) {
      setError('the id is 1-32 of a-z, 0-9, _ and -, starting with a letter')
      return
    }
    setBusy(true)
    setError(undefined)
    try {
      await addAgent(token, sessionId, input)
      onAdded()
      onClose()
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
      setBusy(false)
    }
  }

  return (
    <Dialog title="Add an agent" onClose={onClose} labelledBy="add-agent-title">
      <form onSubmit={submit} style={{ display: 'contents' }} data-testid="add-agent-form">
        <AgentFields prefix="aa" draft={draft} onChange={setDraft} profiles={profiles.agents} />
        {error ? (
          <p className="form-error" role="alert" data-testid="add-agent-error">
            {error}
          </p>
        ) : null}
        <div className="dialog-foot" style={{ padding: 0 }}>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="add-agent-submit">
            {busy ? 'Adding…' : 'Add agent'}
          </button>
        </div>
      </form>
    </Dialog>
  )
}
