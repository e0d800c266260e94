/**
 * The `claude-agent-sdk` adapter (issue #11, seed 001): each turn is one `query()` of the Claude
 * Agent SDK, which runs the Claude Code binary as a child process speaking stream-json. Claude Code
 * runs its own tools (Bash, Read, Write/Edit, Glob) in the work dir; this adapter only bridges its
 * messages into the TurnSink (claude-agent-sdk-events.ts) and keeps it contained:
 *
 *  - spawned from the sandbox's spawn spec (spawnClaudeCodeProcess): in a docker worker that is
 *    uid 1000 with a clean env; its environment is built here from nothing (never process.env),
 *    so the worker token, the signing secret and provider keys cannot reach it;
 *  - its only model endpoint is the worker's credential-free model proxy (ANTHROPIC_BASE_URL); the
 *    API key it insists on is a dummy; telemetry, auto-update and other non-essential traffic off;
 *  - HOME (its settings and session transcripts) is a private dir outside the work dir;
 *  - bwrap mode has no network, so it could not reach the proxy: turns fail with the reason.
 *
 * Between turns the SDK session is resumed (`resume`), so Claude Code keeps its own memory; a
 * turn run again after a crash (or the first turn of a new worker) starts a fresh session with
 * the conversation so far as context.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Options, Query, SDKUserMessage, SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk'
import { log } from '../log'
import { ClaudeEventBridge, claudeToolPolicy, historyContext } from './claude-agent-sdk-events'
import type { SpawnSpec } from '../sandbox'
import type { AdapterContext, AdapterFactory, AdapterTurn, AgentAdapter, TurnSink } from './types'

/** The key Claude Code must be given to start; the proxy ignores it and adds the worker's own. */
export const DUMMY_API_KEY = 'sk-ant-tether-dummy-key-not-a-credential'

/** After the SDK's own graceful close (stdin EOF, ~2 s), a child still alive is killed. */
const KILL_GRACE_MS = 3_000

export const BWRAP_REFUSAL =
  'claude-agent-sdk needs the docker runtime (or TETHER_SANDBOX=off for local development): the bwrap sandbox has no network, so Claude Code could not reach the model proxy'

/** Environment names a child must never get, whatever the SDK adds (belt and braces). */
const FORBIDDEN_ENV = /^(TETHER_|AWS_|GITHUB_|GH_|OPENAI_|GOOGLE_)|TOKEN|SECRET|PASSWORD|_KEY$/

/** Claude Code's environment: offline but for the model proxy, quiet, with a private HOME. */
export function claudeEnv(context: Pick<AdapterContext, 'modelProxy'>, home: string): Record<string, string> {
  return {
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, '.claude'),
    ANTHROPIC_BASE_URL: context.modelProxy.anthropic,
    ANTHROPIC_API_KEY: DUMMY_API_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_BUG_COMMAND: '1',
    CLAUDE_CODE_DISABLE_TERMINAL_TITLE: '1',
    // Crash reports of the Bun runtime Claude Code is built on would go to the network.
    BUN_ENABLE_CRASH_REPORTING: '0',
  }
}

/** The child's env: the sandbox's minimal env, ours, and the SDK's own CLAUDE_* markers; nothing secret. */
export function childEnv(
  sandboxEnv: Record<string, string>,
  sdkEnv: SpawnOptions['env'],
  ours: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = { ...sandboxEnv }
  for (const [k, v] of Object.entries(sdkEnv)) if (v !== undefined && !FORBIDDEN_ENV.test(k)) env[k] = v
  Object.assign(env, ours)
  env.ANTHROPIC_API_KEY = DUMMY_API_KEY
  return env
}

export class ClaudeAgentSdkAdapter implements AgentAdapter {
  readonly name = 'claude-agent-sdk' as const
  private home: string | null = null
  /** Claude Code's session id after the last finished turn (resumed by the next one). */
  private sdkSession: string | null = null
  private readonly children = new Set<ChildProcess>()

  constructor(private readonly context: AdapterContext) {}

  async start(): Promise<void> {
    if (this.context.sandbox.mode.kind === 'bwrap') return // runTurn says why, in the turn's record
    this.home ??= await this.privateHome()
  }

  async runTurn(turn: AdapterTurn, sink: TurnSink): Promise<void> {
    if (this.context.sandbox.mode.kind === 'bwrap') throw new Error(BWRAP_REFUSAL)
    // A turn run again after a crash starts over in a fresh Claude Code session: the old one's
    // transcript (if it survived) ends mid-turn, and the history is what Tether's stream kept.
    if (turn.resumed) this.forgetSession()
    const resume = this.sdkSession
    let reported = false
    const said = () => {
      reported = true
    }
    const watched: TurnSink = {
      text: (d) => {
        said()
        sink.text(d)
      },
      toolStart: (c) => {
        said()
        sink.toolStart(c)
      },
      toolEnd: (k, r) => {
        said()
        sink.toolEnd(k, r)
      },
      usage: (u) => sink.usage(u),
      status: (st) => sink.status(st),
    }
    try {
      await this.runQuery(turn, watched, resume)
    } catch (err) {
      // A session Claude Code cannot resume (its transcript gone) fails before saying anything:
      // then once more in a fresh session that gets the conversation as context.
      if (!resume || reported || turn.signal.aborted) throw err
      log.warn(
        { agentId: this.context.agentId, error: err instanceof Error ? err.message : String(err) },
        'claude code resume failed; starting fresh',
      )
      this.forgetSession()
      await this.runQuery(turn, sink, null)
    }
  }

  /** One query(): resolves when the turn ended (or was aborted), rejects with the reason otherwise. */
  private async runQuery(turn: AdapterTurn, sink: TurnSink, resume: string | null): Promise<void> {
    const home = (this.home ??= await this.privateHome())
    const context = resume ? null : historyContext(turn.history)
    if (turn.signal.aborted) return
    const abortController = new AbortController()
    const onAbort = () => abortController.abort(turn.signal.reason)
    turn.signal.addEventListener('abort', onAbort, { once: true })
    const bridge = new ClaudeEventBridge(sink)
    const stderr: string[] = []
    let outcome: ReturnType<ClaudeEventBridge['handle']> = { kind: 'running' }
    let run: Query | null = null
    try {
      const { query } = await import('@anthropic-ai/claude-agent-sdk')
      // The sandbox's spec for this work dir (uid, gid, cwd, minimal env); the SDK picks the argv.
      const spec = await this.context.sandbox.command(['claude'], { workDir: this.context.workDir })
      run = query({ prompt: promptMessages(turn.prompt, context), options: this.options(home, spec, resume, abortController, stderr) })
      for await (const message of run) {
        outcome = bridge.handle(message)
        if (outcome.kind !== 'running') break
      }
    } catch (err) {
      if (turn.signal.aborted) return
      throw new Error(`Claude Code stopped: ${err instanceof Error ? err.message : String(err)}${tail(stderr)}`)
    } finally {
      turn.signal.removeEventListener('abort', onAbort)
      run?.close()
    }
    if (turn.signal.aborted) return
    if (bridge.sessionId) this.sdkSession = bridge.sessionId
    if (outcome.kind === 'failed') throw new Error(outcome.reason)
    if (outcome.kind === 'running') throw new Error(`Claude Code ended without a result${tail(stderr)}`)
  }

  async close(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL')
    this.children.clear()
    if (this.home) await rm(this.home, { recursive: true, force: true }).catch(() => {})
    this.home = null
    this.forgetSession()
  }

  private forgetSession(): void {
    this.sdkSession = null
  }

  private options(home: string, spec: SpawnSpec, resume: string | null, abortController: AbortController, stderr: string[]): Options {
    const policy = claudeToolPolicy(this.context.tools)
    const ours = claudeEnv(this.context, home)
    return {
      model: this.context.model,
      ...(this.context.system ? { systemPrompt: this.context.system } : {}),
      cwd: this.context.workDir,
      tools: policy.tools,
      allowedTools: policy.allowedTools,
      disallowedTools: policy.disallowedTools,
      // Allowed tools run without asking; anything else is denied (there is no one to ask).
      permissionMode: 'dontAsk',
      // No CLAUDE.md, settings or hooks from the work dir or HOME: what people put in the work
      // dir must not change what the agent may do.
      settingSources: [],
      includePartialMessages: true,
      // People's messages are text for the model, never Claude Code commands: no `/command`
      // dispatch (`/run`, `/config`…) and no `@path` expansion (`@agent` is a Tether mention).
      verbatimPrompts: true,
      abortController,
      ...(resume ? { resume } : {}),
      env: ours,
      stderr: (data) => {
        stderr.push(data)
        if (stderr.length > 50) stderr.shift()
      },
      spawnClaudeCodeProcess: (spawnOptions) => this.spawnChild(spawnOptions, spec, ours),
    }
  }

  /** Claude Code started from the sandbox's spawn spec (its uid, gid, cwd and minimal env) plus ours. */
  private spawnChild(o: SpawnOptions, spec: SpawnSpec, ours: Record<string, string>): SpawnedProcess {
    const child = spawn(o.command, o.args, {
      cwd: spec.cwd,
      env: childEnv(spec.env, o.env, ours),
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.children.add(child)
    child.once('exit', () => this.children.delete(child))
    child.stderr?.on('data', (d: Buffer) =>
      log.debug({ agentId: this.context.agentId, claude: d.toString('utf8').slice(0, 500) }, 'claude code stderr'),
    )
    // The SDK's forwarded signal fires after its graceful close; whatever is still alive then dies.
    o.signal.addEventListener(
      'abort',
      () => {
        if (child.exitCode !== null || child.signalCode !== null) return
        child.kill('SIGTERM')
        setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'), KILL_GRACE_MS).unref()
      },
      { once: true },
    )
    return child as SpawnedProcess
  }

  /** A 0700 dir of the sandbox user's own, outside the work dir (others' files never show it). */
  private async privateHome(): Promise<string> {
    const home = await mkdtemp(join(tmpdir(), `tether-claude-${this.context.agentId}-`))
    const mode = this.context.sandbox.mode
    if (mode.kind === 'setuid') await chown(home, mode.uid, mode.gid)
    return home
  }
}

/** The turn's input: the conversation so far (when Claude Code lacks it) and the message, as separate blocks. */
async function* promptMessages(prompt: string, context: string | null): AsyncIterable<SDKUserMessage> {
  const content = [...(context ? [{ type: 'text' as const, text: context }] : []), { type: 'text' as const, text: prompt }]
  yield { type: 'user', message: { role: 'user', content }, parent_tool_use_id: null }
}

function tail(stderr: string[]): string {
  const text = stderr.join('').trim()
  return text ? ` (${text.slice(-500)})` : ''
}

export const createClaudeAgentSdkAdapter: AdapterFactory = (context) => new ClaudeAgentSdkAdapter(context)
