/**
 * One session's worker process: one reader replays the stream into a SessionView per agent, and
 * the process hosts a set of agents (AgentHost: each its own publisher, agent-state, turn records
 * and agent loop). In a `single-container` session that set is every agent of the roster,
 * followed live: a roster entry that adds an agent starts its loop (with a worker token the
 * server issues for it), one that removes an agent stops it. In the other patterns the process
 * hosts the one agent its token names. Users' messages and hand-offs run turns, cancel aborts a
 * turn, stop ends an agent (without `agentId`, all of them and the worker), terminal input goes
 * to the shell of the worker that hosts the roster's default agent.
 *
 * Exit codes: 0 stopped (stop request, session gone or closed, every agent stopped) — do not
 * restart; 75 fenced by a newer worker for the same session — do not restart; anything else is a crash.
 */
import { mkdirSync } from 'node:fs'
import { EXIT_CRASHED, EXIT_FENCED, EXIT_STOPPED } from '../lib/common/session-contract'
import type { Roster } from '../lib/common/agent-roster'
import { AgentHost, type HostEnd } from './agent-host'
import {
  AgentTokenError,
  agentRunConfig,
  fetchAgentToken,
  fetchSessionSetup,
  sessionSetupFrom,
  streamUrl,
  tokenSubject,
  type SessionAgents,
  type SessionConfig,
  type WorkerIdentity,
  type WorkerSettings,
} from './session-config'
import { OwnEpochs } from './own-epochs'
import { isStreamEvent, type AgentControl, type Chunk } from './events'
import { HandoffReplies } from './handoff-replies'
import { log, setLogContext } from './log'
import { SessionReader } from './reader'
import { SessionView, type ViewNotice } from './session-view'
import { Terminal } from './terminal'

// Exit codes are part of the session contract: the supervisor reads them (src/lib/workers/supervisor.ts).
export { EXIT_CRASHED, EXIT_FENCED, EXIT_STOPPED }
export const SINGLE_CONTAINER = 'single-container'

export interface RunningWorker {
  /** Resolves with the exit code once the worker has finished. */
  done: Promise<number>
  /** Stops as if a stop request had arrived (used on SIGTERM). */
  shutdown(reason: string): Promise<void>
  /** The agents this process hosts now (tests, diagnostics). */
  hostedAgents(): string[]
}

export interface StartWorkerOptions {
  /** The session's setup sent with a warm claim: used instead of fetching the record. */
  session?: Record<string, unknown>
}

export function startWorker(identity: WorkerIdentity, settings: WorkerSettings, options: StartWorkerOptions = {}): RunningWorker {
  let resolveDone!: (code: number) => void
  const done = new Promise<number>((r) => (resolveDone = r))
  let finished = false
  const primary = tokenSubject(identity.token)
  setLogContext({ sessionId: identity.sessionId, agentId: primary })
  mkdirSync(settings.workDir, { recursive: true })

  const url = streamUrl(identity, settings)
  const ownEpochs = new OwnEpochs()
  /** One view per agent that may be hosted: the token's agent, and (until the pattern is known, and in single-container) every roster agent. */
  // One store of the agents' replies for all views (each event is taken once, not once per view).
  const replies = new HandoffReplies()
  const newView = (agentId: string) => new SessionView(agentId, { replies })
  const views = new Map<string, SessionView>([[primary, newView(primary)]])
  const primaryView = views.get(primary)!
  const hosts = new Map<string, AgentHost>()
  /** Agents whose token is being fetched (their host starts when it arrives). */
  const starting = new Set<string>()
  /** Agents stopping because the roster dropped them. */
  const removing = new Set<string>()
  /** Agents a stop control ended: they stay stopped in this process (until removed and added again). */
  const halted = new Set<string>()
  let setup: { config: SessionConfig; agents: SessionAgents } | null = null
  let multi = true
  let terminal: Terminal | null = null
  let terminalOwner: string | null = null
  let stopping: Promise<void> | null = null

  const finish = (code: number) => {
    if (finished) return
    finished = true
    for (const host of hosts.values()) host.halt()
    terminal?.close()
    reader.stop()
    resolveDone(code)
  }

  const shutdown = (reason: string, control?: AgentControl): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'stopping')
      terminal?.close()
      await Promise.all([...hosts.values()].map((h) => h.stop(reason, control)))
      finish(EXIT_STOPPED)
    })()
    return stopping
  }

  const onHostEnd = (agentId: string, end: HostEnd) => {
    if (end === 'fenced') return finish(EXIT_FENCED)
    if (end === 'crashed') return finish(EXIT_CRASHED)
    hosts.delete(agentId)
    if (agentId === terminalOwner) {
      terminal?.close()
      terminal = null
    }
    // Removed, then added back while it was stopping: start it again (a stop control's agent stays stopped).
    if (removing.delete(agentId)) {
      if (!stopping && wanted(primaryView.roster).includes(agentId)) return void startHost(agentId)
    } else if (!stopping) halted.add(agentId)
    // Every agent stopped one by one: nothing is left for this process to do.
    if (!stopping && hosts.size === 0 && starting.size === 0) void shutdown('every agent stopped')
  }

  const onTerminalNotice = (notice: ViewNotice) => {
    if (notice.kind === 'terminal-input') {
      terminal?.input(notice.line.id, notice.line.data, notice.line.raw).catch((err: unknown) => {
        log.error({ error: err instanceof Error ? err.message : String(err) }, 'terminal input failed')
      })
    } else if (notice.kind === 'terminal-resize') terminal?.resize(notice.cols, notice.rows)
  }

  /** The agents this process should host under `roster` (null: no roster entry yet). */
  const wanted = (roster: Roster | null): string[] => {
    if (!multi || roster === null) return [primary]
    return roster.agents.map((a) => a.id)
  }

  const startHost = async (agentId: string): Promise<void> => {
    if (hosts.has(agentId) || starting.has(agentId) || stopping || finished || !setup) return
    starting.add(agentId)
    try {
      const token = agentId === primary ? identity.token : await fetchAgentToken(identity, agentId)
      // The roster may have changed while the token was fetched (removed again, worker stopping).
      if (stopping || finished || !wanted(primaryView.roster).includes(agentId)) return
      if (!setup.agents.agents.has(agentId) && agentId !== primary) setup = await fetchSessionSetup(identity)
      const view = views.get(agentId)
      if (!view) throw new Error(`no view for agent ${agentId}`)
      const host = new AgentHost({
        agentId,
        view,
        streamUrl: url,
        serverUrl: identity.serverUrl,
        sessionId: identity.sessionId,
        token,
        ...(identity.epoch ? { epoch: identity.epoch } : { ownEpoch: ownEpochs.of(agentId) }),
        workDir: settings.workDir,
        heartbeatMs: settings.heartbeatMs,
        run: agentRunConfig(setup.config, setup.agents, agentId),
        snapshots: agentId === (terminalOwner ?? primary),
        waitFor: (offset) => reader.waitFor(offset),
        onEnd: (end) => onHostEnd(agentId, end),
        onIdle: () => {
          // An ephemeral session's agent does one task and stops; the session then completes.
          if (setup?.config.pattern === 'ephemeral' && view.endedTurns() > 0) void shutdown('task finished')
        },
      })
      hosts.set(agentId, host)
      host.resume()
      if (agentId === terminalOwner) await startTerminal(host, view)
      if (setup.config.pattern === 'ephemeral' && view.endedTurns() > 0 && view.currentTurn() === null) await shutdown('task finished')
    } catch (err) {
      // Refused for this agent (404: removed meanwhile; 403: not a single-container session
      // any more): the others go on. 401 (our own token) and anything else is a crash: the
      // restart, with a fresh token, tries again.
      const refused = err instanceof AgentTokenError && err.status >= 403 && err.status < 500
      log.error({ agentId, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'agent could not start')
      if (!refused) finish(EXIT_CRASHED)
    } finally {
      starting.delete(agentId)
    }
  }

  const startTerminal = async (host: AgentHost, view: SessionView): Promise<void> => {
    terminal = new Terminal({
      publisher: host.publisher,
      agentId: host.agentId,
      workDir: settings.workDir,
      outputCounts: view.terminalOutputs,
      initialSize: view.terminalSize,
    })
    // Resume: terminal input the previous run did not answer.
    for (const line of view.unansweredTerminalInputs()) {
      await terminal.input(line.id, line.data, line.raw).catch((err: unknown) => {
        log.error({ error: err instanceof Error ? err.message : String(err) }, 'terminal input failed')
      })
    }
  }

  /** Follows the roster: starts agents added to it, stops those removed. */
  const followRoster = (roster: Roster) => {
    if (!setup || !multi) return
    const ids = wanted(roster)
    for (const [agentId, host] of hosts) {
      if (ids.includes(agentId)) continue
      removing.add(agentId)
      void host.stop('removed from the session')
    }
    for (const agentId of halted) if (!ids.includes(agentId)) halted.delete(agentId)
    for (const agentId of ids) if (!halted.has(agentId)) void startHost(agentId)
  }

  const reader = new SessionReader({
    streamUrl: url,
    token: identity.token,
    onBatch: (items) => {
      for (const item of items) {
        if (!isStreamEvent(item)) continue
        ownEpochs.note(item.headers.eventId)
        if (item.type === 'chunk' && item.headers.operation !== 'delete' && item.value) replies.apply(item.value as Chunk)
        for (const [agentId, view] of [...views]) {
          for (const notice of view.apply(item)) {
            if (notice.kind === 'roster' && view === primaryView) {
              // Views for new agents start here: nothing of theirs can come before the entry that adds them.
              if (multi) {
                for (const a of notice.roster.agents) {
                  if (views.has(a.id)) continue
                  const fresh = newView(a.id)
                  fresh.apply(item)
                  views.set(a.id, fresh)
                }
              }
              followRoster(notice.roster)
            } else if (notice.kind === 'terminal-input' || notice.kind === 'terminal-resize') {
              if (agentId === terminalOwner && hosts.get(agentId)?.isLive) onTerminalNotice(notice)
            } else if (notice.kind === 'stop' && notice.control.agentId === undefined) {
              // A stop for every agent ends the worker (the terminal with it).
              if (hosts.get(agentId)?.isLive) void shutdown(`stop requested (${notice.control.reason})`, notice.control)
            } else hosts.get(agentId)?.notice(notice)
          }
        }
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
      // A warm claim carries the setup (issue #13): then the first heartbeat waits only for the stream.
      const setupReady = options.session
        ? Promise.resolve(sessionSetupFrom(options.session))
        : fetchSessionSetup(identity).finally(() => log.debug({ ms: performance.now() - t0 }, 'session config fetched'))
      const [fetched] = await Promise.all([
        setupReady,
        reader.caughtUp.finally(() => log.debug({ ms: performance.now() - t0 }, 'caught up')),
      ])
      if (finished) return
      setup = fetched
      multi = fetched.config.pattern === SINGLE_CONTAINER
      // Only a single-container worker hosts other agents: drop the views it will not use.
      if (!multi) for (const id of [...views.keys()]) if (id !== primary) views.delete(id)
      const roster = primaryView.roster
      // The terminal belongs to the roster's default agent (the token's agent without a roster).
      terminalOwner = roster ? roster.defaultAgent : primary
      if (!wanted(roster).includes(terminalOwner)) terminalOwner = null
      log.info({ model: fetched.config.model, agents: wanted(roster), terminal: terminalOwner }, 'worker started')
      await Promise.all(wanted(roster).map((id) => startHost(id)))
      if (!finished && !stopping && hosts.size === 0 && starting.size === 0) {
        log.warn({ agentId: primary }, 'no agent of this session to host')
        await shutdown('no agent to host')
      }
    } catch (err) {
      log.error({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }, 'worker failed')
      finish(EXIT_CRASHED)
    }
  })()

  return { done, shutdown, hostedAgents: () => [...hosts.keys()] }
}
