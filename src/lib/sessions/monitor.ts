/**
 * The session monitor: on every tick it re-folds each live session from its stream, stores the
 * usage, ends (or, for hybrid idle, suspends) sessions past a limit, completes ephemeral sessions
 * whose agents have all stopped, stops single agents past their own turn limit (issue #15: a stop
 * control for that agent, the session goes on), removes ended ephemeral sessions after a grace
 * period, and hands the active sessions to the worker hooks' reconcile. `tick()` is public so tests drive
 * it with an injected clock instead of waiting.
 */
import type { Logger } from '../common/logger'
import { agentLimitStops, type AgentLimitStops } from './agent-limit-stops'
import { agentsFinished, type SessionFold, usageOf } from './fold'
import { passedLimit } from './limits'
import type { SessionManager } from './manager'
import type { SessionRecord } from './session-types'
import type { SessionStore } from './session-store'
import { StreamNotFoundError } from './streams-client'
import type { SessionCompaction } from './compaction/service'
import type { SessionViews } from './session-views'

export interface MonitorOptions {
  manager: SessionManager
  store: SessionStore
  now: () => number
  logger: Logger
  /** Tick interval; 0 disables the timer (call tick() yourself). */
  intervalMs: number
  /** Ended ephemeral sessions are removed this long after they ended. */
  ephemeralRemoveAfterMs: number
  /** Stream compaction (compaction/service.ts): live sessions now and then, each ended one once. */
  compaction?: SessionCompaction
  /** Session views: each session's view checkpoint is kept near its tail (session-views.ts). */
  views?: SessionViews
  /**
   * Several nodes on one database: which sessions this node's monitor looks after (the lease
   * holder's, src/lib/workers/monitor-ownership.ts). Absent: every session (one node).
   */
  ownership?: { refresh(): Promise<void>; owns(sessionId: string): boolean }
}

export interface TickReport {
  checked: number
  ended: { id: string; reason: string }[]
  suspended: string[]
  removed: string[]
  /** Sessions whose stream was compacted in this pass. */
  compacted: string[]
  /** Agents stopped at their own limit (a stop control written in this pass). */
  agentsStopped: { id: string; agentId: string; reason: string }[]
}

/** Agents of `session` whose own turn limit is reached and that have not stopped (pure). */
export function agentsPastTurnLimit(session: Pick<SessionRecord, 'agents'>, fold: Pick<SessionFold, 'agents'>): { agentId: string; maxTurns: number }[] {
  const out: { agentId: string; maxTurns: number }[] = []
  for (const agent of session.agents) {
    const maxTurns = agent.limits.maxTurns
    const state = fold.agents.get(agent.id)
    if (maxTurns === null || !state || state.status === 'stopped') continue
    if (state.turns >= maxTurns) out.push({ agentId: agent.id, maxTurns })
  }
  return out
}

export class SessionMonitor {
  private timer: ReturnType<typeof setInterval> | null = null
  private running: Promise<TickReport> | null = null
  private readonly stops: AgentLimitStops

  constructor(private readonly opts: MonitorOptions) {
    this.stops = agentLimitStops(opts.manager, opts.logger)
  }

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer) return
    this.timer = setInterval(() => {
      void this.tick().catch((err: unknown) => this.opts.logger.error({ err }, 'session monitor tick failed'))
    }, this.opts.intervalMs)
    this.timer.unref?.()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
  }

  /** One pass; concurrent calls share the pass in progress. */
  tick(): Promise<TickReport> {
    this.running ??= this.pass().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async pass(): Promise<TickReport> {
    const { manager, store, logger } = this.opts
    const report: TickReport = { checked: 0, ended: [], suspended: [], removed: [], compacted: [], agentsStopped: [] }
    const ownership = this.opts.ownership
    // Without a fresh view of the leases, look after every session: a double look does no harm.
    const viewed = await (ownership?.refresh().then(() => true) ?? Promise.resolve(false)).catch((err: unknown) => {
      logger.warn({ err }, 'session monitor could not read the leases; looking after every session this pass')
      return false
    })
    const mine = (id: string) => !viewed || (ownership?.owns(id) ?? true)
    for (const session of await store.live()) {
      if (!mine(session.id)) continue
      report.checked += 1
      try {
        let fold: SessionFold
        try {
          fold = await manager.logs.catchUp(session.id)
        } catch (err) {
          if (err instanceof StreamNotFoundError) {
            await manager.end(session.id, 'terminated', 'stream-missing')
            report.ended.push({ id: session.id, reason: 'stream-missing' })
            continue
          }
          throw err
        }
        await store.updateUsage(session.id, usageOf(fold))
        const now = this.opts.now()
        if (fold.closed) {
          await manager.end(session.id, 'completed', 'stream-closed')
          report.ended.push({ id: session.id, reason: 'stream-closed' })
          await this.compact(session.id, report, true)
          await this.checkpoint(session.id, fold.events, true)
          continue
        }
        const limit = passedLimit(session, fold, now)
        if (limit === 'idle' && session.pattern === 'hybrid') {
          await manager.suspend(session.id, 'limit:idle')
          report.suspended.push(session.id)
        } else if (limit) {
          await manager.end(session.id, 'terminated', `limit:${limit}`)
          report.ended.push({ id: session.id, reason: `limit:${limit}` })
          await this.compact(session.id, report, true)
          await this.checkpoint(session.id, fold.events, true)
        } else if (session.pattern === 'ephemeral' && agentsFinished(fold)) {
          const finished = agentsFinished(fold)!
          await manager.end(session.id, finished, finished)
          report.ended.push({ id: session.id, reason: finished })
          await this.compact(session.id, report, true)
          await this.checkpoint(session.id, fold.events, true)
        } else {
          for (const { agentId, maxTurns } of agentsPastTurnLimit(session, fold)) {
            if (await this.stops.stop(session.id, agentId, 'limit:agent-turns', maxTurns, 'system'))
              report.agentsStopped.push({ id: session.id, agentId, reason: 'limit:agent-turns' })
          }
          await this.compact(session.id, report, false)
          await this.checkpoint(session.id, fold.events, false)
        }
      } catch (err) {
        logger.error({ err, sessionId: session.id }, 'session monitor could not check a session')
      }
    }
    for (const id of await store.endedEphemeralBefore(this.opts.now() - this.opts.ephemeralRemoveAfterMs)) {
      if (!mine(id)) continue
      try {
        if (await manager.remove(id)) report.removed.push(id)
      } catch (err) {
        logger.error({ err, sessionId: id }, 'could not remove an ended ephemeral session')
      }
    }
    await manager.reconcile()
    return report
  }

  /** Likewise a view checkpoint (after compaction: one read afresh is read from the compacted stream). */
  private async checkpoint(sessionId: string, events: number, ended: boolean): Promise<void> {
    const views = this.opts.views
    if (!views) return
    try {
      await views.checkpointLive(sessionId, events)
    } catch (err) {
      this.opts.logger.warn({ err, sessionId }, 'could not checkpoint a session view')
    }
    if (ended) views.forgetLive(sessionId)
  }

  /** Compaction never fails a pass: a session that could not be compacted is logged and tried later. */
  private async compact(sessionId: string, report: TickReport, ended: boolean): Promise<void> {
    const compaction = this.opts.compaction
    if (!compaction?.available) return
    try {
      const done = ended ? await compaction.compact(sessionId, { ended: true }) : await compaction.maybeCompact(sessionId)
      if (done) report.compacted.push(sessionId)
      if (ended) compaction.forget(sessionId)
    } catch (err) {
      this.opts.logger.warn({ err, sessionId }, 'could not compact a session stream')
    }
  }
}
