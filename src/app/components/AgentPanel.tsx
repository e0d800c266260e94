import { useEffect, useState } from 'react'
import type { AgentSummary } from '../../lib/sessions/client/derive'
import type { AgentsView } from '../../lib/sessions/client/agents'
import { AgentCards, STEP_HINT, type AgentCardActions } from './AgentCards'
import type { SessionRecord } from '../../lib/sessions/session-types'
import { formatCount, formatDuration, formatUsd } from './format'
import { timeLeftNote } from './limits-text'

const STATUS_BADGE: Record<string, string> = {
  starting: 'badge badge-info',
  idle: 'badge',
  thinking: 'badge badge-accent',
  'running-tool': 'badge badge-info',
  waiting: 'badge badge-warn',
  stopped: 'badge',
  failed: 'badge badge-danger',
}

function Stat({
  label,
  value,
  left,
  fraction,
  testId,
}: {
  label: string
  value: string
  left?: string
  fraction?: number
  testId?: string
}) {
  return (
    <div className="stat" data-testid={testId}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {left !== undefined ? (
        <div className="faint" style={{ fontSize: 12 }}>
          {left}
        </div>
      ) : null}
      {fraction !== undefined ? (
        <div className={`meter${fraction < 0.15 ? ' low' : ''}`} aria-hidden="true">
          <span style={{ width: `${Math.max(0, Math.min(1, fraction)) * 100}%` }} />
        </div>
      ) : null}
    </div>
  )
}

/**
 * The side panel's agent section: the status line of the agent that changed last, its step and
 * the session's totals (the sum over every agent); with several agents (issue #15) one card per
 * agent under them (AgentCards), and "Add agent" for admins and the session's owner.
 */
export function AgentPanel({
  summary,
  session,
  agents,
  cardActions,
  onAddAgent,
}: {
  summary: AgentSummary
  session?: SessionRecord
  agents?: AgentsView
  cardActions?: AgentCardActions
  onAddAgent?: () => void
}) {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [])
  const agent = summary.primary
  const limits = session?.limits
  const cost = Math.max(summary.costUsd, session?.usage.costUsd ?? 0)
  const turns = Math.max(summary.turns, session?.usage.turns ?? 0)
  const tokens = summary.tokensIn + summary.tokensOut || (session ? session.usage.tokensIn + session.usage.tokensOut : 0)
  const ended = session ? !['active', 'idle'].includes(session.status) : false
  // A single-agent session (no roster logged, one card) keeps seed 001's panel as it was.
  const several = !!agents && (agents.logged || agents.cards.length > 1)

  const budgetLeft = limits?.maxBudgetUsd ? limits.maxBudgetUsd - cost : undefined
  const turnsLeft = limits?.maxTurns ? limits.maxTurns - turns : undefined
  const lifetimeLeft = limits?.maxLifetimeMs && session ? session.createdAt + limits.maxLifetimeMs - now : undefined

  return (
    <section className="side-section" aria-labelledby="agent-heading" data-testid="agent-panel">
      <h2 id="agent-heading">{several ? 'Agents' : 'Agent'}</h2>
      {several ? (
        // Each agent's status and step are on its card; on top, what the session adds up to.
        <p className="agent-step" data-testid="agents-summary">
          {ended
            ? 'The session has ended.'
            : `${agents.cards.filter((c) => c.onRoster && ['thinking', 'running-tool', 'starting'].includes(c.status)).length} of ${agents.roster.agents.length} working · session totals`}
          {summary.stopRequested ? <span className="badge badge-warn">stopping…</span> : null}
        </p>
      ) : (
        <>
          <div className="agent-status-line">
            <span className={STATUS_BADGE[agent?.status ?? 'idle'] ?? 'badge'} data-testid="agent-status">
              {agent && ['thinking', 'running-tool', 'starting'].includes(agent.status) ? <span className="dot dot-pulse" /> : null}
              {agent ? agent.status : ended ? 'ended' : 'no agent yet'}
            </span>
            {(agent?.model ?? session?.agent.model) ? (
              <span className="faint" style={{ fontSize: 12 }}>
                {agent?.model ?? session?.agent.model}
              </span>
            ) : null}
            {summary.stopRequested ? <span className="badge badge-warn">stopping…</span> : null}
          </div>
          <p className="agent-step" data-testid="agent-step">
            {agent?.error ? (
              <span style={{ color: 'var(--danger)' }}>{agent.error}</span>
            ) : session?.status === 'idle' ? (
              // Suspended by its idle limit (hybrid): the agent was stopped, not the session.
              'Asleep: the next message wakes the agent.'
            ) : (
              (agent?.currentStep ??
              (agent ? (STEP_HINT[agent.status] ?? '') : ended ? 'The session has ended.' : 'Waiting for a worker to pick up the session.'))
            )}
          </p>
        </>
      )}
      <div className="stats">
        <Stat
          label="Tokens"
          value={formatCount(tokens)}
          left={`${formatCount(summary.tokensIn)} in · ${formatCount(summary.tokensOut)} out`}
          testId="stat-tokens"
        />
        <Stat
          label="Cost"
          value={formatUsd(cost)}
          left={
            budgetLeft !== undefined
              ? `${formatUsd(Math.max(0, budgetLeft))} of ${formatUsd(limits?.maxBudgetUsd ?? 0)} left`
              : 'no budget limit'
          }
          fraction={budgetLeft !== undefined && limits?.maxBudgetUsd ? budgetLeft / limits.maxBudgetUsd : undefined}
          testId="stat-cost"
        />
        <Stat
          label="Turns"
          value={String(turns)}
          left={turnsLeft !== undefined ? `${Math.max(0, turnsLeft)} of ${limits?.maxTurns} left` : 'no turn limit'}
          fraction={turnsLeft !== undefined && limits?.maxTurns ? turnsLeft / limits.maxTurns : undefined}
          testId="stat-turns"
        />
        <Stat
          label="Time left"
          value={ended ? '—' : lifetimeLeft !== undefined ? formatDuration(lifetimeLeft) : '∞'}
          left={timeLeftNote(session, now, ended)}
          fraction={lifetimeLeft !== undefined && limits?.maxLifetimeMs && !ended ? lifetimeLeft / limits.maxLifetimeMs : undefined}
          testId="stat-time"
        />
      </div>
      {agents && several ? (
        <AgentCards agents={agents} actions={cardActions ?? { running: new Set() }} onAdd={ended ? undefined : onAddAgent} />
      ) : onAddAgent && !ended ? (
        <div className="agent-cards-head">
          <span />
          <button type="button" className="btn btn-sm" onClick={onAddAgent} data-testid="add-agent">
            + Add agent
          </button>
        </div>
      ) : null}
    </section>
  )
}
