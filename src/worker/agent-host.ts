/**
 * One agent hosted by a worker process (issue #15): its own Publisher (producer id
 * `agent:<agentId>`, so its epoch fences only its own zombies), agent-state entry (status,
 * usage, heartbeat), turn records and agent loop, reading the session through its own
 * SessionView (fed by the worker's one reader). A single-container worker hosts one of these per
 * agent of the roster; other patterns' workers host the one agent their token names.
 *
 * A host starts by claiming an epoch above everything its agent wrote, announcing itself (with a
 * restart count when its previous run did not stop cleanly), then resuming its unfinished turns.
 * It stops on a stop control addressed to it, on removal from the roster, or with the worker.
 */
import { StaleEpochError } from '@durable-streams/client'
import { AgentLoop } from './agent'
import { ExternalTurnLoop } from './adapters/external-loop'
import { createExternalAdapter } from './adapters/start-adapter'
import { AgentStateTracker } from './agent-state'
import type { AgentControl } from './events'
import { log } from './log'
import { GatewayProvider } from './providers/gateway'
import { Publisher } from './publisher'
import { TurnRequestId } from './request-id'
import type { AgentRunConfig } from './session-config'
import type { SessionView, ViewNotice } from './session-view'
import { TOOL_SPECS } from './tools'
import { TurnRecorder } from './turn-records'
import { requestWorkspaceSnapshot } from './workspace-snapshot'

const SHUTDOWN_FLUSH_MS = 3_000

export type HostEnd = 'stopped' | 'fenced' | 'crashed'

export interface AgentHostOptions {
  agentId: string
  view: SessionView
  streamUrl: string
  serverUrl: string
  sessionId: string
  /** This agent's worker token (its subject is `agentId`). */
  token: string
  /** The producers' epoch from the supervisor (a session lease, issue 14); unset: derived from the stream. */
  epoch?: number
  /** Without one: the largest epoch of this agent's earlier runs from their event ids (own-epochs.ts). */
  ownEpoch?: number
  workDir: string
  heartbeatMs: number
  run: AgentRunConfig
  /** Whether this agent's turns ask for workspace snapshots (the default agent's only: forks count its turns). */
  snapshots: boolean
  /** Resolves when the worker's reader has applied the stream up to `offset`. */
  waitFor: (offset: string | undefined) => Promise<void>
  /** The host has ended: stopped (asked, removed, or with the worker), fenced, or it crashed. */
  onEnd: (end: HostEnd) => void
  /** The queue ran dry after a turn. */
  onIdle?: () => void
}

export class AgentHost {
  readonly agentId: string
  readonly publisher: Publisher
  readonly state: AgentStateTracker
  private readonly loop: AgentLoop | ExternalTurnLoop
  private readonly turns: TurnRecorder
  private live = false
  private stopping: Promise<void> | null = null
  private ended = false

  constructor(private readonly o: AgentHostOptions) {
    this.agentId = o.agentId
    const { view } = o
    // Under a session lease the supervisor's epoch (its fence) orders runs across nodes;
    // otherwise each run takes one above everything this agent wrote (publisher.ts).
    const epoch = o.epoch ?? Math.max(Date.now(), view.maxOwnTimestamp + 1, (o.ownEpoch ?? 0) + 1)
    const requestId = new TurnRequestId()
    this.publisher = new Publisher({
      streamUrl: o.streamUrl,
      token: o.token,
      agentId: o.agentId,
      epoch,
      requestId,
      onFatal: (error) => {
        // Writing 'stopped' into a stream the server already closed (or as an agent just
        // removed) is a normal end. The client reports every 403 as a stale epoch; only a
        // larger server epoch is a fence (an auth denial is a crash: a restart brings a fresh token).
        if (this.stopping) this.end('stopped')
        else if (error instanceof StaleEpochError && error.currentEpoch > epoch) this.end('fenced')
        else this.end('crashed')
      },
    })
    const previous = view.ownState as (typeof view.ownState & { restarts?: number }) | null
    const restarted = previous !== null && previous.status !== 'stopped'
    const restarts = (previous?.restarts ?? 0) + (restarted ? 1 : 0)
    this.state = new AgentStateTracker(this.publisher, o.agentId, {
      status: 'idle',
      currentStep: restarted ? `restarted after a crash (restart ${restarts})` : null,
      model: o.run.model,
      tokensIn: previous?.tokensIn ?? 0,
      tokensOut: previous?.tokensOut ?? 0,
      costUsd: previous?.costUsd ?? 0,
      turns: previous?.turns ?? 0,
      restarts,
    })
    this.turns = new TurnRecorder(this.publisher, view, o.agentId)
    const p = this.publisher
    const snapshots = { serverUrl: o.serverUrl, sessionId: o.sessionId, token: o.token }
    const shared = {
      turns: this.turns,
      // The fork feature's workspace snapshot, between turns (never fatal: see workspace-snapshot.ts).
      afterTurn: async (turn: number, messageId: string) => {
        if (!o.snapshots) return
        await p.flush().catch(() => {})
        await requestWorkspaceSnapshot(snapshots, turn, messageId)
      },
      view,
      publisher: p,
      state: this.state,
      agentId: o.agentId,
      requestId,
      caughtUp: async () => {
        await p.flush()
        await o.waitFor(p.lastOffset)
      },
      ...(o.onIdle ? { onIdle: o.onIdle } : {}),
    }
    const { adapter } = o.run
    this.loop = adapter
      ? // An external agent program (issue #11) runs whole turns itself; the loop writes what it reports.
        new ExternalTurnLoop({
          ...shared,
          adapter: () =>
            createExternalAdapter({ adapter, agentId: o.agentId, sessionId: o.sessionId, serverUrl: o.serverUrl, token: o.token, requestId, workDir: o.workDir, run: o.run }),
        })
      : new AgentLoop({
          ...shared,
          workDir: o.workDir,
          // Models are called through the server's gateway with this agent's token: the keys never
          // reach this process, and the ledger counts the call against this agent.
          provider: new GatewayProvider({ serverUrl: o.serverUrl, sessionId: o.sessionId, token: o.token, requestId }),
          model: o.run.model,
          tools: o.run.tools.map((t) => TOOL_SPECS[t]),
          ...(o.run.system ? { system: o.run.system } : {}),
        })
    // A stop found while catching up was meant for an earlier run: the supervisor, which
    // started this one, decides whether the session needs a worker (e.g. a hybrid session
    // resumed after its idle stop). Only stops that arrive from now on are obeyed.
    if (view.stopRequest) log.info({ agentId: o.agentId, control: view.stopRequest.id }, 'ignoring a stop request from before this run')
    this.state.publish()
    // The first heartbeat is what a starting session waits for (a warm claim is timed by it):
    // sent now, not after the producer's 10 ms linger. Order is kept (one batch in flight).
    void p.flush().catch(() => {})
    this.state.startHeartbeat(o.heartbeatMs)
    log.info({ agentId: o.agentId, epoch, model: o.run.model, restarts }, restarted ? 'agent restarted' : 'agent started')
  }

  /**
   * Goes live: from now on notices are acted on; first every turn that was asked for and has not
   * ended is queued (hand-offs get their `accepted` record if the crash came before it).
   * Synchronous, so no notice falls between the scan and going live.
   */
  resume(): void {
    const { view } = this.o
    this.live = true
    if (this.loop instanceof ExternalTurnLoop) this.loop.prestart()
    const first = view.currentTurn()
    if (first === null) return
    for (let t = first; t <= view.triggers.length; t++) {
      if (view.trigger(t)?.from !== undefined && !view.turns.get(t)?.ended) this.turns.accept(t)
      this.loop.enqueue(t)
    }
  }

  get isLive(): boolean {
    return this.live
  }

  get isStopping(): boolean {
    return this.stopping !== null
  }

  /** Acts on what this agent's view noticed (terminal and roster notices are the worker's). */
  notice(notice: ViewNotice): void {
    if (!this.live || this.stopping) return
    switch (notice.kind) {
      case 'user-message':
        this.loop.enqueue(notice.turn)
        break
      case 'handoff':
        // The server writes `accepted` only for people's messages: a hand-off's is ours.
        this.turns.accept(notice.turn)
        log.info({ agentId: this.agentId, turn: notice.turn, from: notice.from }, 'hand-off accepted')
        this.loop.enqueue(notice.turn)
        break
      case 'cancel': {
        // Stop is a logged command with its outcome: a cancelled turn's record names the
        // control; a cancel that found no turn is answered in this agent's state.
        const running = notice.toolCallId ? false : this.loop.cancel(notice.control, notice.turn)
        const outcome = running || notice.turn !== null ? 'cancelled-turn' : 'no-turn-running'
        this.state.update({ lastControl: { id: notice.control.id, outcome } })
        break
      }
      case 'stop':
        void this.stop(`stop requested (${notice.control.reason})`, notice.control)
        break
      default:
        break
    }
  }

  /** Cancels what runs, writes `stopped`, flushes (bounded) and ends. */
  stop(reason: string, control?: AgentControl): Promise<void> {
    this.stopping ??= (async () => {
      log.info({ agentId: this.agentId, reason }, 'agent stopping')
      if (control) this.state.update({ lastControl: { id: control.id, outcome: 'stopping' } })
      await this.loop.stop(control)
      this.state.stopHeartbeat()
      this.state.update({ status: 'stopped', currentStep: reason })
      // A server that is gone must not keep a stopping worker alive (appends retry for a minute).
      await Promise.race([this.publisher.detach().catch(() => {}), new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS).unref())])
      this.end('stopped')
    })()
    return this.stopping
  }

  /** Ends without writing anything (the worker is going down for another reason). */
  halt(): void {
    this.state.stopHeartbeat()
  }

  private end(how: HostEnd): void {
    if (this.ended) return
    this.ended = true
    this.state.stopHeartbeat()
    this.o.onEnd(how)
  }
}
