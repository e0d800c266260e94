/**
 * The one interface every agent program sits behind (issue #11). Tether's own loop
 * (src/worker/agent.ts) drives the model step by step and runs the tools itself; an external
 * program (`opencode serve`, the Claude Agent SDK) runs a whole turn on its own, tools included,
 * and reports what happens. The external turn loop (external-loop.ts) turns those reports into
 * the same five channels the tether loop writes: chunk messages per step, tool-call records,
 * usage and status in agent-state, and the turn's record (streaming, tool, done, cancelled, failed).
 *
 * An adapter never sees a credential: its program reaches models through the worker's model proxy
 * (a loopback URL; the worker adds its token on the way to the server's gateway), and its tools run
 * as the sandbox user.
 */
import type { AgentAdapterName } from '../../lib/common/session-contract'
import type { ToolName } from '../events'
import type { ProviderMessage } from '../providers/types'
import type { Sandbox } from '../sandbox'

/** What an adapter is started with (one per agent the worker hosts). */
export interface AdapterContext {
  agentId: string
  sessionId: string
  /** The session's work dir (the program's cwd; its tools work here). */
  workDir: string
  /** The model name the gateway serves this agent (e.g. `echo`, `anthropic:claude-…`). */
  model: string
  system?: string
  /** The Tether tool names allowed to this agent; an adapter maps them to its program's tools. */
  tools: ToolName[]
  /**
   * Base URLs of the worker's model proxy, credential-free (the proxy adds the worker token):
   * `anthropic` answers `POST <anthropic>/v1/messages`, `openai` answers `POST <openai>/chat/completions`.
   */
  modelProxy: { anthropic: string; openai: string }
  /** How the program is spawned: as the sandbox user, with a clean environment. */
  sandbox: Sandbox
}

/** One turn as the adapter runs it. */
export interface AdapterTurn {
  turn: number
  /** The message as this agent reads it (who handed it over, what others said meanwhile). */
  prompt: string
  /**
   * This agent's conversation up to and including this turn's message (the last entry), for a
   * program that lost its memory (a resumed turn, or a program started fresh).
   */
  history: ProviderMessage[]
  /** The turn was interrupted (worker crash) and runs again: its earlier steps stay as they were. */
  resumed: boolean
  /** Aborted on cancel or stop: the adapter aborts its program's run and returns promptly. */
  signal: AbortSignal
}

/** What an adapter reports while a turn runs (external-loop.ts writes it into the stream). */
export interface TurnSink {
  /** Assistant text, streamed into the turn's current step message. */
  text(delta: string): void
  /** The program started a tool (`key` is the program's own id for the call, unique in the turn). */
  toolStart(call: { key: string; name: string; input: unknown }): void
  /** The program's tool call ended. */
  toolEnd(key: string, result: { ok: boolean; output?: unknown; error?: string }): void
  /** Tokens and cost of a model call (adds to the agent's totals). */
  usage(usage: { inputTokens: number; outputTokens: number; costUsd?: number }): void
  /** A short status line for agent-state's currentStep (e.g. "waiting for permission"). */
  status(step: string): void
}

export interface AgentAdapter {
  readonly name: AgentAdapterName
  /** Starts the program (e.g. spawns `opencode serve` and waits until it answers). */
  start(): Promise<void>
  /** Runs one turn to its end; rejects with the reason when the program fails. */
  runTurn(turn: AdapterTurn, sink: TurnSink): Promise<void>
  /** Stops the program. */
  close(): Promise<void>
}

export type AdapterFactory = (context: AdapterContext) => AgentAdapter
