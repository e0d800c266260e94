/**
 * Session lifecycle: create (record + stream), append validated events, end (stop event + close),
 * suspend / resume hybrid sessions, remove. The HTTP adapters (sessions-api, writer) and the
 * monitor call this; it calls the worker hooks.
 */
import { randomBytes } from 'node:crypto'
import type { Logger } from '../common/logger'
import { isPresenceGone } from './channel-schemas'
import { buildSessionEvent, type SessionEvent } from './session-events'
import { type SessionFold, usageOf } from './fold'
import type { SessionWorkerCallbacks } from './worker-callbacks'
import {
  InvalidSessionEventError,
  SessionEndedError,
  SessionNotFoundError,
  SessionStreamClosedError,
  SessionStreamGoneError,
} from './session-errors'
import { resolveLimits } from './limits'
import { SessionLogs, type AppendOptions, type AppendResult } from './session-log'
import { acceptedTurnEvents, hasCompletedUserMessage } from './turn-accept'
import { turnsAccepted } from '../ops/tracing-turns'
import { forkJsonStream, type StreamForkSpec } from './fork-stream'
import { AgentChanges, agentStopEvent, rosterEvent } from './agent-changes'
import { rosterOf } from './session-agents'
import {
  LIVE_STATUSES,
  type AgentStatus,
  isLiveStatus,
  sessionStreamPath,
  type AgentConfig,
  type AgentRoutingInput,
  type EndReason,
  type SessionAgentInput,
  type SessionLimits,
  type SessionLimitsInput,
  type SessionPattern,
  type SessionRecord,
  type SessionStatus,
} from './session-types'
import type { SessionStore } from './session-store'
import { StreamClosedError, StreamNotFoundError, createJsonStream, deleteStream, type StreamsEndpoint } from './streams-client'

export interface SessionManagerOptions {
  store: SessionStore
  endpoint: StreamsEndpoint
  hooks: SessionWorkerCallbacks
  now: () => number
  logger: Logger
  /** Sliding Stream-TTL of session streams (renewed by every read and write). */
  retentionSeconds: number
  /** Replace the per-pattern default limits (environment configuration). */
  defaultLimits?: Partial<SessionLimits>
  /** Event ids kept exactly per session for deduplication (default DEFAULT_EXACT_EVENT_IDS). */
  exactEventIds?: number
  /** Other nodes append to the same streams (PostgreSQL): decisions read the stream first (SessionLogs). */
  sharedStreams?: boolean
}

export interface CreateSessionParams {
  pattern: SessionPattern
  title?: string
  agent?: AgentConfig
  /** Several agents (issue #15), instead of `agent`; logged in the stream as the first roster entry. */
  agents?: readonly SessionAgentInput[]
  routing?: AgentRoutingInput
  limits?: SessionLimitsInput
  metadata?: Record<string, string>
  createdBy: string | null
  /** Fork (sessions/fork.ts): the stream starts as a zero-copy fork of the source's at that position. */
  fork?: StreamForkSpec & { sessionId: string; turn: number }
}

export interface SessionPresenceSummary {
  presence: Array<{ userId: string; displayName: string; color: string; status: string }>
  agents: Array<{ agentId: string; status: AgentStatus }>
}

/** What requireLive answers: enough of the record to decide on a write. */
export type LiveSession = Pick<SessionRecord, 'id' | 'status' | 'endReason'>

const ACTIVITY = new Set(['chunk', 'tool-call', 'terminal'])

/**
 * The one rule for resuming: a hybrid session suspended by its idle limit (`idle`) resumes on
 * activity (a chunk, tool call or terminal line), whichever write path it came by; presence and
 * agent state (heartbeats) do not count.
 */
export function resumesSession(status: SessionStatus, events: readonly Pick<SessionEvent, 'type'>[]): boolean {
  return status === 'idle' && events.some((e) => ACTIVITY.has(e.type))
}

export function newSessionId(): string {
  return `s_${randomBytes(10).toString('base64url')}`
}

export class SessionManager {
  readonly logs: SessionLogs
  /** Adding and removing agents of a live session (agent-changes.ts). */
  readonly agents: AgentChanges
  private readonly store: SessionStore
  private readonly endpoint: StreamsEndpoint
  private readonly hooks: SessionWorkerCallbacks
  private readonly now: () => number
  private readonly logger: Logger

  constructor(private readonly opts: SessionManagerOptions) {
    this.store = opts.store
    this.endpoint = opts.endpoint
    this.hooks = opts.hooks
    this.now = opts.now
    this.logger = opts.logger
    this.logs = new SessionLogs(opts.endpoint, opts.now, opts.exactEventIds, opts.sharedStreams)
    this.agents = new AgentChanges({
      store: this.store,
      logs: this.logs,
      now: this.now,
      requireLive: (id) => this.requireLive(id),
      agentsChanged: (session) => this.callWorkerCallback('onSessionAgentsChanged', session),
    })
  }

  private async callWorkerCallback<K extends keyof SessionWorkerCallbacks>(
    name: K,
    ...args: Parameters<NonNullable<SessionWorkerCallbacks[K]>>
  ): Promise<void> {
    const fn = this.hooks[name] as ((...a: unknown[]) => unknown) | undefined
    if (!fn) return
    try {
      await fn.apply(this.hooks, args)
    } catch (err) {
      this.logger.error({ err, hook: name }, 'worker hook failed')
    }
  }

  async create(params: CreateSessionParams): Promise<SessionRecord> {
    const id = newSessionId()
    const path = sessionStreamPath(id)
    const { fork } = params
    const ttlSeconds = this.opts.retentionSeconds
    const forkOffset = fork ? await forkJsonStream(this.endpoint, path, fork, ttlSeconds) : null
    if (!fork) await createJsonStream(this.endpoint, path, { ttlSeconds })
    let session: SessionRecord
    try {
      session = await this.store.insert({
        id,
        pattern: params.pattern,
        title: params.title ?? null,
        agent: params.agent ?? {},
        ...(params.agents ? { agents: params.agents, routing: params.routing } : {}),
        limits: resolveLimits(params.pattern, params.limits, this.opts.defaultLimits),
        metadata: params.metadata ?? {},
        createdBy: params.createdBy,
        now: this.now(),
        forkedFrom: fork && forkOffset ? { sessionId: fork.sessionId, turn: fork.turn, offset: forkOffset } : null,
      })
    } catch (err) {
      await deleteStream(this.endpoint, path).catch(() => undefined)
      throw err
    }
    // The roster before any worker starts: workers and pages route with it from the first event.
    if (params.agents)
      await this.logs.append(id, [rosterEvent(session, { action: 'created', by: params.createdBy ?? 'system' }, this.now())])
    this.logger.info({ sessionId: id, pattern: session.pattern }, 'session created')
    await this.callWorkerCallback('onSessionCreated', session)
    return session
  }

  async get(id: string): Promise<SessionRecord | null> {
    return await this.store.get(id)
  }

  /** The worker callbacks (workspace snapshots for sessions/workspace-api.ts and fork.ts). */
  get workerCallbacks(): SessionWorkerCallbacks {
    return this.hooks
  }

  /** Where this manager's session streams live (fork.ts reads a source stream through it). */
  get streams(): StreamsEndpoint {
    return this.endpoint
  }

  /** The record with usage re-folded from the stream (live sessions only; ended ones are final). */
  async refresh(id: string): Promise<SessionRecord | null> {
    const session = await this.store.get(id)
    if (!session || !isLiveStatus(session.status)) return session
    try {
      const fold = await this.logs.catchUp(id)
      await this.store.updateUsage(id, usageOf(fold))
    } catch (err) {
      if (!(err instanceof StreamNotFoundError)) throw err
    }
    return await this.store.get(id)
  }

  /**
   * Who is present (presence not gone, see isPresenceGone) and each agent's status, from the
   * fold (no read once the session's fold is loaded). Ended sessions: empty (their fold is dropped).
   */
  async presenceAndAgents(id: string): Promise<SessionPresenceSummary> {
    const session = await this.store.status(id)
    if (!session || !isLiveStatus(session.status)) return { presence: [], agents: [] }
    let fold: SessionFold
    try {
      fold = await this.logs.fold(id)
    } catch (err) {
      if (err instanceof StreamNotFoundError) return { presence: [], agents: [] }
      throw err
    }
    const now = this.now()
    return {
      presence: [...fold.presence.values()]
        .filter((p) => !isPresenceGone(p, now))
        .map((p) => ({ userId: p.userId, displayName: p.displayName, color: p.color, status: p.status }))
        .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId)),
      agents: [...fold.agents.entries()].map(([agentId, a]) => ({ agentId, status: a.status })),
    }
  }

  /** A live session, or the domain error that explains why not (SessionNotFoundError, SessionEndedError). */
  async requireLive(id: string): Promise<LiveSession> {
    const session = await this.store.status(id)
    if (!session) throw new SessionNotFoundError(id)
    if (!isLiveStatus(session.status)) throw new SessionEndedError(id, session.endReason ?? session.status)
    return session
  }

  /**
   * Appends already validated and authorized events to a live session, in one atomic append.
   * `live`: the caller's own requireLive answer (the writer checks before reading the body).
   */
  async append(id: string, events: SessionEvent[], live?: LiveSession): Promise<AppendResult> {
    const status = (live ?? (await this.requireLive(id))).status
    let result: AppendResult
    try {
      result = await this.logs.append(id, events, await this.acceptTurns(id, events))
    } catch (err) {
      if (err instanceof StreamClosedError) throw new SessionStreamClosedError(id)
      if (err instanceof StreamNotFoundError) throw new SessionStreamGoneError(id)
      throw err
    }
    const fold = this.logs.peek(id)
    if (fold) await this.store.noteUsage(id, usageOf(fold))
    if (resumesSession(status, events)) await this.resume(id)
    return result
  }

  /**
   * After a raw protocol append (a worker's batch, already validated and authorized by the gate):
   * resume an idle session on activity, fold those events instead of re-reading the stream and
   * refresh usage. `offset`: the append's Stream-Next-Offset (without one: read, as before).
   */
  async appended(id: string, events: SessionEvent[], offset: string | null): Promise<void> {
    const session = await this.store.status(id)
    if (!session || !isLiveStatus(session.status)) return
    // Before the resume (which may wait for a worker to start): accepted is due at once.
    const accept = await this.acceptTurns(id, events)
    if (accept.follow) {
      await this.logs.append(id, [], { follow: (_fresh, fold) => accept.follow!(events, fold) }).catch((err: unknown) => {
        this.logger.warn({ err, sessionId: id }, 'could not write the accepted turn record')
      })
    }
    if (resumesSession(session.status, events)) await this.resume(id)
    const fold = offset ? await this.logs.foldAppended(id, events, offset) : null
    if (fold) await this.store.noteUsage(id, usageOf(fold))
    else await this.refresh(id)
  }

  /**
   * The `follow` that appends an `accepted` turn record after each completed user message, for
   * sessions with an agent (nobody would answer the others). See turn-accept.ts.
   */
  private async acceptTurns(id: string, events: readonly SessionEvent[]): Promise<AppendOptions> {
    if (!hasCompletedUserMessage(events)) return {}
    const session = await this.store.get(id)
    if (!session || session.agents.length === 0) return {}
    const roster = rosterOf(session)
    return { follow: (fresh, fold) => turnsAccepted(id, acceptedTurnEvents(fresh, fold, this.now(), roster), this.logger) }
  }

  /** Appends a user message (one done chunk) and answers with its offset. */
  async postMessage(
    id: string,
    msg: { text: string; author: string; messageId?: string; turn?: number },
  ): Promise<AppendResult & { messageId: string }> {
    const live = await this.requireLive(id)
    const messageId = msg.messageId ?? `msg_${randomBytes(9).toString('base64url')}`
    let turn = msg.turn
    if (turn === undefined) {
      const fold = await this.logs.fold(id).catch(() => null)
      turn = fold ? usageOf(fold).turns : 0
    }
    const built = buildSessionEvent(
      { channel: 'chunk', data: { messageId, role: 'user', author: msg.author, turn, seq: 0, delta: msg.text, done: true } },
      { now: this.now() },
    )
    if (!built.ok) throw new InvalidSessionEventError(`${built.field}: ${built.message}`, built.field)
    const result = await this.append(id, [built.value], live)
    return { ...result, messageId }
  }

  async update(
    id: string,
    patch: { title?: string; agent?: AgentConfig; limits?: SessionLimitsInput; metadata?: Record<string, string> },
  ): Promise<SessionRecord> {
    const updated = await this.store.update(id, patch, this.now())
    if (!updated) throw new SessionNotFoundError(id, 'id')
    return updated
  }

  private controlEvent(reason: string, requestedBy: string): SessionEvent {
    const built = buildSessionEvent(
      { channel: 'agent-state', data: { kind: 'control', action: 'stop', reason, requestedBy } },
      { now: this.now() },
    )
    if (!built.ok) throw new Error(`internal: control event invalid: ${built.message}`)
    return built.value
  }

  /**
   * Ends a live session: the record first (so no new write is accepted), then a stop control
   * event and the stream's close in one append, then the hook. Ending an ended session is a no-op.
   */
  async end(
    id: string,
    status: Extract<SessionStatus, 'completed' | 'failed' | 'terminated'>,
    reason: EndReason,
    requestedBy = 'system',
  ): Promise<SessionRecord | null> {
    const ended = await this.store.transition(id, LIVE_STATUSES, status, this.now(), reason)
    if (!ended) return await this.store.get(id)
    try {
      await this.logs.append(id, [this.controlEvent(reason, requestedBy)], { close: true })
      const fold = this.logs.peek(id)
      if (fold) await this.store.updateUsage(id, usageOf(fold))
    } catch (err) {
      if (!(err instanceof StreamClosedError || err instanceof StreamNotFoundError)) {
        this.logger.error({ err, sessionId: id }, 'could not write the end of the session to its stream')
      }
    }
    this.logs.forget(id)
    const final = (await this.store.get(id)) ?? ended
    this.logger.info({ sessionId: id, status, reason }, 'session ended')
    await this.callWorkerCallback('onSessionEnded', final, reason)
    return final
  }

  /** Stops one agent of a live session (a `stop` control naming it), e.g. past its own limit. */
  async stopAgent(id: string, agentId: string, reason: string, requestedBy = 'system'): Promise<void> {
    await this.requireLive(id)
    await this.logs.append(id, [agentStopEvent(agentId, reason, requestedBy, this.now())])
  }

  /** Hybrid idle limit: stop the agent, keep the stream open; the next activity resumes it. */
  async suspend(id: string, reason: EndReason): Promise<void> {
    const suspended = await this.store.transition(id, ['active'], 'idle', this.now())
    if (!suspended) return
    try {
      await this.logs.append(id, [this.controlEvent(reason, 'system')])
    } catch (err) {
      this.logger.error({ err, sessionId: id }, 'could not write the suspend event')
    }
    this.logger.info({ sessionId: id, reason }, 'session suspended')
    await this.callWorkerCallback('onSessionSuspended', suspended)
  }

  async resume(id: string): Promise<void> {
    // A raw append by a worker resumes before tether-server.ts refreshes the fold: make the next write read first.
    this.logs.noteForeignAppend(id)
    const resumed = await this.store.transition(id, ['idle'], 'active', this.now())
    if (!resumed) return
    this.logger.info({ sessionId: id }, 'session resumed')
    await this.callWorkerCallback('onSessionResumed', resumed)
  }

  /** Deletes record and stream (ending a live session first). */
  async remove(id: string): Promise<boolean> {
    const session = await this.store.get(id)
    if (!session) return false
    if (isLiveStatus(session.status)) await this.end(id, 'terminated', 'deleted')
    await deleteStream(this.endpoint, sessionStreamPath(id))
    this.logs.forget(id)
    const removed = await this.store.remove(id)
    await this.callWorkerCallback('onSessionRemoved', id)
    return removed
  }

  async activeSessions(): Promise<SessionRecord[]> {
    return (await this.store.live()).filter((s) => s.status === 'active')
  }

  async reconcile(): Promise<void> {
    await this.callWorkerCallback('reconcile', await this.activeSessions())
  }

  async closeWorkerCallbacks(): Promise<void> {
    await this.callWorkerCallback('close')
  }
}
