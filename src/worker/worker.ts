/**
 * One session's worker: replay the stream into a SessionView, claim a producer epoch above
 * everything this agent wrote before, announce itself in agent-state (with a restart count when
 * an earlier run did not stop cleanly), resume what the previous run left unfinished, then react
 * to the live stream: user messages run turns, cancel aborts the turn, stop ends the worker,
 * terminal input goes to the shell.
 *
 * Exit codes: 0 stopped (stop request, session gone or closed) — do not restart; 75 fenced by a
 * newer worker for the same session — do not restart; anything else is a crash.
 */
import { StaleEpochError } from '@durable-streams/client'
import { mkdirSync } from 'node:fs'
import { EXIT_CRASHED, EXIT_FENCED, EXIT_STOPPED } from '../lib/common/session-contract'
import { AgentLoop } from './agent'
import { AgentStateTracker } from './agent-state'
import { fetchSessionConfig, streamUrl, tokenSubject, type WorkerIdentity, type WorkerSettings } from './session-config'
import { isStreamEvent, type AgentControl } from './events'
import { log, setLogContext } from './log'
import { GatewayProvider } from './providers/gateway'
import { Publisher } from './publisher'
import { SessionReader } from './reader'
import { SessionView, type ViewNotice } from './session-view'
import { Terminal } from './terminal'
import { TOOL_SPECS } from './tools'
import { TurnRecorder } from './turn-records'
import { requestWorkspaceSnapshot } from './workspace-snapshot'

// Exit codes are part of the session contract: the supervisor reads them (src/lib/workers/supervisor.ts).
export { EXIT_CRASHED, EXIT_FENCED, EXIT_STOPPED }
const SHUTDOWN_FLUSH_MS = 3_000

export interface RunningWorker {
  /** Resolves with the exit code once the worker has finished. */
  done: Promise<number>
  /** Stops as if a stop request had arrived (used on SIGTERM). */
  shutdown(reason: string): Promise<void>
}

export function startWorker(identity: WorkerIdentity, settings: WorkerSettings): RunningWorker {
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((r) => (resolveDone = r))
  let finished = false
  const agentId = tokenSubject(identity.token)
  setLogContext({ sessionId: identity.sessionId, agentId })
  mkdirSync(settings.workDir, { recursive: true })

  const view = new SessionView(agentId)
  const url = streamUrl(identity, settings)
  let live = false
  let publisher: Publisher | null = null
  let state: AgentStateTracker | null = null
  let loop: AgentLoop | null = null
  let terminal: Terminal | null = null
  let stopping: Promise<void> | null = null

  const finish = (code: number) => {
    if (finished) return
    finished = true
    state?.stopHeartbeat()
    terminal?.close()
    reader.stop()
    resolveDone(code)
  }

  const shutdown = (reason: string, control?: AgentControl): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping')
      if (control) state?.update({ lastControl: { id: control.id, outcome: 'stopping' } })
      await loop?.stop(control)
      state?.stopHeartbeat()
      terminal?.close()
      state?.update({ status: 'stopped', currentStep: reason })
      // A server that is gone must not keep a stopping worker alive (appends retry for a minute).
      await Promise.race([publisher?.detach().catch(() => {}), new Promise((r) => setTimeout(r, SHUTDOWN_FLUSH_MS).unref())])
      finish(EXIT_STOPPED)
    })()
    return stopping
  }

  const onNotice = (notice: ViewNotice) => {
    switch (notice.kind) {
      case 'user-message':
        loop?.enqueue(notice.turn)
        break
      case 'cancel': {
        // Stop is a logged command with its outcome: a cancelled turn's record names the
        // control; a cancel that found no turn is answered in this agent's state.
        const running = notice.toolCallId ? false : (loop?.cancel(notice.control, notice.turn) ?? false)
        const outcome = running || notice.turn !== null ? 'cancelled-turn' : 'no-turn-running'
        state?.update({ lastControl: { id: notice.control.id, outcome } })
        break
      }
      case 'stop':
        void shutdown(`stop requested (${notice.control.reason})`, notice.control)
        break
      case 'terminal-input':
        terminal?.input(notice.line.id, notice.line.data, notice.line.raw).catch((err: unknown) => {
          log.error({ error: err instanceof Error ? err.message : String(err) }, 'terminal input failed')
        })
        break
      case 'terminal-resize':
        terminal?.resize(notice.cols, notice.rows)
        break
    }
  }

  const reader = new SessionReader({
    streamUrl: url,
    token: identity.token,
    onBatch: (items) => {
      for (const item of items) {
        if (!isStreamEvent(item)) continue
        const notices = view.apply(item)
        if (live) for (const notice of notices) onNotice(notice)
      }
    },
    onEnd: ({ status, message }) => {
      log[status === 404 || status === 410 ? 'info' : 'error']({ status, message }, 'session stream ended')
      if (status === undefined || status === 404 || status === 410) void shutdown('session ended')
      else finish(EXIT_CRASHED)
    },
  })

  void (async () => {
    try {
      const t0 = performance.now()
      reader.start()
      const [config] = await Promise.all([
        fetchSessionConfig(identity).finally(() => log.debug({ ms: performance.now() - t0 }, 'session config fetched')),
        reader.caughtUp.finally(() => log.debug({ ms: performance.now() - t0 }, 'caught up')),
      ])
      if (finished) return
      const epoch = Math.max(Date.now(), view.maxOwnTimestamp + 1)
      publisher = new Publisher({
        streamUrl: url,
        token: identity.token,
        agentId,
        epoch,
        onFatal: (error) => {
          // Writing 'stopped' into a stream the server already closed is the normal end.
          if (stopping) finish(EXIT_STOPPED)
          // The client reports every 403 as a stale epoch; only a larger server epoch is a fence
          // (an auth denial, e.g. an expired token, is a crash: the restart brings a fresh token).
          else if (error instanceof StaleEpochError && error.currentEpoch > epoch) finish(EXIT_FENCED)
          else finish(EXIT_CRASHED)
        },
      })
      const previous = view.ownState as (typeof view.ownState & { restarts?: number }) | null
      const restarted = previous !== null && previous.status !== 'stopped'
      const restarts = (previous?.restarts ?? 0) + (restarted ? 1 : 0)
      state = new AgentStateTracker(publisher, agentId, {
        status: 'idle',
        currentStep: restarted ? `restarted after a crash (restart ${restarts})` : null,
        model: config.model,
        tokensIn: previous?.tokensIn ?? 0,
        tokensOut: previous?.tokensOut ?? 0,
        costUsd: previous?.costUsd ?? 0,
        turns: previous?.turns ?? 0,
        restarts,
      })
      // A stop found while catching up was meant for an earlier run: the supervisor, which
      // started this one, decides whether the session needs a worker (e.g. a hybrid session
      // resumed after its idle stop). Only stops that arrive from now on are obeyed.
      if (view.stopRequest) log.info({ control: view.stopRequest.id }, 'ignoring a stop request from before this run')
      state.publish()
      state.startHeartbeat(settings.heartbeatMs)
      void publisher.flush().then(
        () => log.debug({ ms: performance.now() - t0 }, 'first state published'),
        () => {},
      )
      log.info({ epoch, model: config.model, restarts }, restarted ? 'worker restarted' : 'worker started')

      terminal = new Terminal({
        publisher,
        agentId,
        workDir: settings.workDir,
        outputCounts: view.terminalOutputs,
        initialSize: view.terminalSize,
      })
      const p = publisher
      const snapshots = { serverUrl: identity.serverUrl, sessionId: identity.sessionId, token: identity.token }
      loop = new AgentLoop({
        turns: new TurnRecorder(p, view, agentId),
        // The fork feature's workspace snapshot, between turns (never fatal: see workspace-snapshot.ts).
        afterTurn: async (turn, messageId) => {
          await p.flush().catch(() => {})
          await requestWorkspaceSnapshot(snapshots, turn, messageId)
        },
        view,
        publisher: p,
        state,
        agentId,
        workDir: settings.workDir,
        // Models are called through the server's gateway: the keys never reach this process.
        provider: new GatewayProvider({ serverUrl: identity.serverUrl, sessionId: identity.sessionId, token: identity.token }),
        model: config.model,
        tools: config.tools.map((t) => TOOL_SPECS[t]),
        ...(config.system ? { system: config.system } : {}),
        caughtUp: async () => {
          await p.flush()
          await reader.waitFor(p.lastOffset)
        },
        onIdle: () => {
          // An ephemeral session's agent does one task and stops; the session then completes.
          if (config.pattern === 'ephemeral' && view.endedTurns() > 0) void shutdown('task finished')
        },
      })
      live = true
      // Resume: unanswered terminal input, then every asked-for turn that has not ended.
      for (const line of view.unansweredTerminalInputs()) {
        await terminal.input(line.id, line.data, line.raw).catch((err: unknown) => {
          log.error({ error: err instanceof Error ? err.message : String(err) }, 'terminal input failed')
        })
      }
      const first = view.currentTurn()
      if (first !== null) for (let t = first; t <= view.completedUserMessages.length; t++) loop.enqueue(t)
      else if (config.pattern === 'ephemeral' && view.endedTurns() > 0) await shutdown('task finished')
    } catch (err) {
      log.error({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'worker failed')
      finish(EXIT_CRASHED)
    }
  })()

  return { done, shutdown }
}
