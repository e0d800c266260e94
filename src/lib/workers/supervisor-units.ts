/**
 * What the supervisor keeps running, as data (issue #15): worker UNITS, not sessions. A
 * `single-container` session has one unit hosting all its agents (its token is the default
 * agent's; the worker follows the roster and asks for the others' tokens itself). Any other
 * pattern has one unit per agent, each with a token whose subject is that agent.
 *
 * The default agent's unit is the session's main unit: its key is the session id, so a
 * single-agent session is tracked, named and snapshotted exactly as before. The other units are
 * keyed `<sessionId>@<agentId>` (`@` is in neither a base64url session id nor an agent slug) and
 * their workers are named `…--<agentId>` by the runtimes. Also here: the crash backoff policy
 * and which sessions get workers, on which runtime.
 */
import { DEFAULT_AGENT_ID } from '../common/agent-roster'
import type { SessionRecord } from '../sessions/session-types'
import type { RuntimeKind } from './runtime'
import { extraMemoryFor } from './worker-memory'

export interface BackoffPolicy {
  initialMs: number
  maxMs: number
  factor: number
  /** A worker that ran this long before crashing restarts without delay (counter reset). */
  stableAfterMs: number
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2, stableAfterMs: 60_000 }

/**
 * Delay before restarting a worker that crashed for the `crashes`-th time in a row (1-based)
 * after running `ranForMs`: immediately the first time, then exponential up to `maxMs`. A worker
 * that had run `stableAfterMs` counts as healthy again (its crash is a first one).
 */
export function restartDelay(
  crashes: number,
  ranForMs: number,
  policy: BackoffPolicy = DEFAULT_BACKOFF,
): { delayMs: number; crashes: number } {
  const n = ranForMs >= policy.stableAfterMs ? 1 : crashes
  const delayMs = n <= 1 ? 0 : Math.min(policy.maxMs, policy.initialMs * policy.factor ** (n - 2))
  return { delayMs, crashes: n }
}

/** A session gets workers when it has agents (a session created with a model has its one `agent`). */
export function defaultNeedsWorker(session: SessionRecord): boolean {
  // Records built before issue #15 (tests, old callers) have no list: their agent config decides.
  return session.agents ? session.agents.length > 0 : Boolean(session.agent?.model || session.agent?.provider)
}

/** Runtime for a session: `metadata.workerRuntime` when valid, else the server default. */
export function runtimeFor(session: SessionRecord, fallback: RuntimeKind): RuntimeKind {
  const chosen = session.metadata?.workerRuntime
  return chosen === 'process' || chosen === 'docker' ? chosen : fallback
}

/** One worker the supervisor keeps running. */
export interface Unit {
  key: string
  sessionId: string
  /** The worker token's subject. */
  agentId: string
  /** The session's main unit (default agent): today's names, the terminal, workspace snapshots. */
  primary: boolean
  /** Memory over the runtime's base limit for the agent programs this unit's worker hosts. */
  extraMemoryBytes: number
}

export const unitKey = (sessionId: string, agentId: string | null | undefined): string =>
  agentId ? `${sessionId}@${agentId}` : sessionId

/** The units a session needs; `fallbackAgent` serves a session that needs a worker but lists no agent. */
export function unitsOf(session: SessionRecord, fallbackAgent: string = DEFAULT_AGENT_ID): Unit[] {
  const agents = session.agents ?? []
  const defaultAgent = session.routing?.defaultAgent && agents.some((a) => a.id === session.routing.defaultAgent)
    ? session.routing.defaultAgent
    : (agents[0]?.id ?? fallbackAgent)
  const hostsAll = session.pattern === 'single-container' || agents.length <= 1
  const primaryAdapters = hostsAll ? agents.map((a) => a.adapter) : agents.filter((a) => a.id === defaultAgent).map((a) => a.adapter)
  // Records without a list (built before issue #15) run their one `agent`.
  if (agents.length === 0 && session.agent) primaryAdapters.push(session.agent.adapter)
  const primary: Unit = {
    key: session.id,
    sessionId: session.id,
    agentId: defaultAgent,
    primary: true,
    extraMemoryBytes: extraMemoryFor(primaryAdapters),
  }
  if (hostsAll) return [primary]
  return [
    primary,
    ...agents
      .filter((a) => a.id !== defaultAgent)
      .map((a) => ({
        key: unitKey(session.id, a.id),
        sessionId: session.id,
        agentId: a.id,
        primary: false,
        extraMemoryBytes: extraMemoryFor([a.adapter]),
      })),
  ]
}

/**
 * Whether a running unit still serves what `wanted` asks. A different agent means a different
 * token: a new worker (the default agent changed). A single-container worker keeps running while
 * the agent it started as is still on the list: it hosts every agent anyway, and restarting it
 * would cut every agent's turn short.
 */
export function unitStillServes(runningAgent: string, wanted: Unit, session: SessionRecord): boolean {
  if (runningAgent === wanted.agentId) return true
  return session.pattern === 'single-container' && (session.agents ?? []).some((a) => a.id === runningAgent)
}

export type Phase = 'starting' | 'running' | 'backoff' | 'stopping'

/** A unit being served: its current worker and restart bookkeeping. */
export interface Tracked {
  unit: Unit
  runtime: RuntimeKind
  workerId: string | null
  /** Container id / pid of the current instance: exits of earlier instances are not crashes. */
  nativeId: string | null
  phase: Phase
  crashes: number
  /** Total restarts since the supervisor started tracking the unit. */
  restarts: number
  startedAt: number
  timer: NodeJS.Timeout | null
}

/** The public view of one unit's worker (workerOf / workersOf). */
export interface UnitWorker {
  agentId: string
  primary: boolean
  runtime: RuntimeKind
  workerId: string | null
  phase: Phase
  restarts: number
}

export const viewOf = (t: Tracked): UnitWorker => ({
  agentId: t.unit.agentId,
  primary: t.unit.primary,
  runtime: t.runtime,
  workerId: t.workerId,
  phase: t.phase,
  restarts: t.restarts,
})
