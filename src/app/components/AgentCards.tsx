/**
 * One card per agent of the session (issue #15): its colour, name, status, current step, usage
 * (tokens in/out, cost, turns) against its own limits; "Stop" for its current turn; "Remove"
 * (with a confirm) for admins and the session's owner. Values come from the stream's roster and
 * per-agent state entries (lib/sessions/client/agents.ts); the raw numbers sit in data-*
 * attributes so a test can compare them with the stream exactly.
 */
import { useState } from 'react'
import type { AgentCard as Card, AgentsView } from '../../lib/sessions/client/agents'
import { AgentDot } from './AgentName'
import { formatCount, formatUsd } from './format'

/** What an agent's card (and the single agent's panel) says when the agent reports no step. */
export const STEP_HINT: Record<string, string> = {
  idle: 'Waiting for the next message.',
  starting: 'Starting up…',
  waiting: 'Waiting for input.',
  stopped: 'Stopped.',
  failed: 'Failed.',
  'not started': 'Waiting for a worker to start it.',
}

const STATUS_BADGE: Record<string, string> = {
  starting: 'badge badge-info',
  thinking: 'badge badge-accent',
  'running-tool': 'badge badge-info',
  waiting: 'badge badge-warn',
  failed: 'badge badge-danger',
}

export interface AgentCardActions {
  /** cancels the agent's current turn; absent when this page cannot (read-only, no turn) */
  stop?: (agentId: string) => void
  /** the agents with a turn running now (Stop shows for them) */
  running: ReadonlySet<string>
  /** admin or owner: may remove agents */
  remove?: (agentId: string) => Promise<void>
}

function limitNote(used: string, limit: string | null): string {
  return limit === null ? used : `${used} of ${limit}`
}

function AgentCardView({ card, actions, only }: { card: Card; actions: AgentCardActions; only: boolean }) {
  const [confirming, setConfirming] = useState(false)
  const [error, setError] = useState<string>()
  const [busy, setBusy] = useState(false)
  const busyStatus = ['thinking', 'running-tool', 'starting'].includes(card.status)
  const remove = actions.remove
  return (
    <li
      className={`agent-card agent-c${card.colour}${card.onRoster ? '' : ' agent-card-removed'}`}
      data-testid="agent-card"
      data-agent-id={card.id}
      data-status={card.status}
      data-tokens-in={card.tokensIn}
      data-tokens-out={card.tokensOut}
      data-cost={card.costUsd}
      data-turns={card.turns}
    >
      <div className="agent-card-head">
        <AgentDot colour={card.colour} />
        <span className="agent-card-name" data-testid="agent-card-name">
          {card.name}
        </span>
        <code className="faint">@{card.id}</code>
        {card.model ? <span className="faint">{card.model}</span> : null}
        {card.isDefault && !only ? <span className="badge">default</span> : null}
        {!card.onRoster ? <span className="badge">removed</span> : null}
        <span className={STATUS_BADGE[card.status] ?? 'badge'} data-testid="agent-card-status">
          {busyStatus ? <span className="dot dot-pulse" /> : null}
          {card.status}
        </span>
      </div>
      <p className="agent-card-step" data-testid="agent-card-step">
        {card.state?.error ? (
          <span style={{ color: 'var(--danger)' }}>{card.state.error}</span>
        ) : (
          (card.currentStep ?? STEP_HINT[card.status] ?? '')
        )}
      </p>
      <dl className="agent-card-usage">
        <div>
          <dt>Tokens</dt>
          <dd data-testid="agent-card-tokens">
            {formatCount(card.tokensIn)} in · {formatCount(card.tokensOut)} out
          </dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd data-testid="agent-card-cost">
            {limitNote(formatUsd(card.costUsd), card.limits.maxBudgetUsd === null ? null : formatUsd(card.limits.maxBudgetUsd))}
          </dd>
        </div>
        <div>
          <dt>Turns</dt>
          <dd data-testid="agent-card-turns">
            {limitNote(String(card.turns), card.limits.maxTurns === null ? null : String(card.limits.maxTurns))}
          </dd>
        </div>
      </dl>
      {(actions.stop && actions.running.has(card.id)) || (remove && card.onRoster && !only) ? (
        <div className="agent-card-actions">
          {actions.stop && actions.running.has(card.id) ? (
            <button type="button" className="btn btn-sm btn-danger" onClick={() => actions.stop?.(card.id)} data-testid="agent-card-stop">
              ■ Stop {card.name}
            </button>
          ) : null}
          {remove && card.onRoster && !only ? (
            confirming ? (
              <span className="agent-card-confirm">
                Remove {card.name}?
                <button
                  type="button"
                  className="btn btn-sm btn-danger"
                  disabled={busy}
                  data-testid="agent-card-remove-confirm"
                  onClick={async () => {
                    setBusy(true)
                    setError(undefined)
                    try {
                      await remove(card.id)
                      setConfirming(false)
                    } catch (err) {
                      setError(err instanceof Error ? err.message : String(err))
                    } finally {
                      setBusy(false)
                    }
                  }}
                >
                  Remove
                </button>
                <button type="button" className="btn btn-sm" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </span>
            ) : (
              <button type="button" className="btn btn-sm btn-ghost" onClick={() => setConfirming(true)} data-testid="agent-card-remove">
                Remove
              </button>
            )
          ) : null}
        </div>
      ) : null}
      {error ? (
        <p className="form-error" role="alert" data-testid="agent-card-error">
          {error}
        </p>
      ) : null}
    </li>
  )
}

export function AgentCards({ agents, actions, onAdd }: { agents: AgentsView; actions: AgentCardActions; onAdd?: () => void }) {
  const onRoster = agents.cards.filter((c) => c.onRoster).length
  return (
    <div className="agent-cards-block">
      <div className="agent-cards-head">
        <span>
          {onRoster} agent{onRoster === 1 ? '' : 's'}
        </span>
        {onAdd ? (
          <button type="button" className="btn btn-sm" onClick={onAdd} data-testid="add-agent">
            + Add agent
          </button>
        ) : null}
      </div>
      <ul className="agent-cards" data-testid="agent-cards">
        {agents.cards.map((card) => (
          <AgentCardView key={card.id} card={card} actions={actions} only={onRoster <= 1} />
        ))}
      </ul>
    </div>
  )
}
