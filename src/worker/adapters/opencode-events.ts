/**
 * The pure half of the `opencode` adapter (issue #11): what `opencode serve` is configured with,
 * and how its event stream (`GET /event`, one JSON object per SSE message) maps onto a TurnSink.
 * No I/O here, so every mapping is unit-tested on recorded event shapes (opencode 1.18).
 *
 * Events of a turn, in the order opencode sends them (only our session's count):
 *   session.status busy → message.updated (assistant) → message.part.updated step-start →
 *   message.part.updated text (empty) → message.part.delta × n → message.part.updated text (whole) →
 *   message.part.updated tool pending → running → completed | error → step-finish (tokens, cost) →
 *   … the next step … → session.status idle → session.idle
 * Errors arrive as session.error (and on the assistant message's info.error) before the idle.
 */
import type { ProviderMessage } from '../providers/types'
import { resumedHistory } from './resumed-history'
import type { ToolName } from '../events'
import type { AdapterContext, TurnSink } from './types'

/** The provider id opencode knows the gateway by, and the password's user name (opencode's default). */
export const OPENCODE_PROVIDER = 'tether'
/** The key the Anthropic provider insists on; the model proxy drops it and adds the worker's own. */
export const OPENCODE_DUMMY_KEY = 'sk-tether-dummy-key-not-a-credential'

/**
 * Tether tool → opencode tools. opencode 1.18's built-ins: bash, read, glob, grep, edit, write,
 * apply_patch (edit/write/patch share the `edit` permission), webfetch, websearch, task, todowrite,
 * skill, question… Everything not listed here is denied.
 */
export const OPENCODE_TOOLS: Record<ToolName, string[]> = {
  // opencode asks `external_directory` for a bash command naming a path outside the work dir
  // (`cat /etc/hostname`); a shell reaches those paths anyway, so allowing it opens nothing new.
  shell: ['bash', 'external_directory'],
  read_file: ['read', 'grep'],
  write_file: ['edit'],
  list_files: ['list', 'glob'],
}

/** The permission ruleset: `*` denied, each allowed Tether tool's opencode tools allowed (no prompts). */
export function opencodePermissions(tools: readonly ToolName[]): Record<string, 'allow' | 'deny'> {
  const permission: Record<string, 'allow' | 'deny'> = { '*': 'deny' }
  for (const tool of tools) for (const name of OPENCODE_TOOLS[tool] ?? []) permission[name] = 'allow'
  return permission
}

/**
 * opencode's config (OPENCODE_CONFIG_CONTENT): one provider, `tether`, speaking the Anthropic
 * Messages API at the worker's model proxy with a dummy key, serving the agent's model; nothing
 * that reaches the network (no autoupdate, no share, no snapshots of the work dir); the agent's
 * system prompt replaces opencode's own for its `build` agent.
 */
export function opencodeConfig(context: Pick<AdapterContext, 'model' | 'system' | 'tools' | 'modelProxy'>): Record<string, unknown> {
  const model = context.model
  return {
    autoupdate: false,
    share: 'disabled',
    snapshot: false,
    model: `${OPENCODE_PROVIDER}/${model}`,
    small_model: `${OPENCODE_PROVIDER}/${model}`,
    enabled_providers: [OPENCODE_PROVIDER],
    provider: {
      [OPENCODE_PROVIDER]: {
        npm: '@ai-sdk/anthropic',
        name: 'Tether gateway',
        options: { baseURL: `${context.modelProxy.anthropic.replace(/\/$/, '')}/v1`, apiKey: OPENCODE_DUMMY_KEY },
        models: { [model]: { name: model, tool_call: true, limit: { context: 200_000, output: 8_192 } } },
      },
    },
    permission: opencodePermissions(context.tools),
    ...(context.system ? { agent: { build: { prompt: context.system } } } : {}),
  }
}

/** Environment flags that keep opencode offline but for the model proxy, and out of the work dir's config. */
export const OPENCODE_OFFLINE_ENV: Record<string, string> = {
  OPENCODE_DISABLE_MODELS_FETCH: '1',
  OPENCODE_DISABLE_AUTOUPDATE: '1',
  OPENCODE_DISABLE_SHARE: '1',
  OPENCODE_DISABLE_LSP_DOWNLOAD: '1',
  OPENCODE_DISABLE_DEFAULT_PLUGINS: '1',
  OPENCODE_DISABLE_CLAUDE_CODE: '1',
  OPENCODE_DISABLE_EXTERNAL_SKILLS: '1',
  // What people put in the work dir (opencode.json, .opencode/) must not change what the agent may do.
  OPENCODE_DISABLE_PROJECT_CONFIG: '1',
  OPENCODE_DISABLE_AUTOCOMPACT: '1',
  OPENCODE_CLIENT: 'tether',
}

/** What a fresh opencode session is told of the conversation (resumed-history.ts). */
export const historyPreamble = (history: readonly ProviderMessage[]): string | null => resumedHistory(history, 2_000)

/** An opencode bus event as it arrives (only the fields read here). */
export interface OpencodeEvent {
  type: string
  properties?: Record<string, unknown>
}

/** What an event means for the turn. */
export type BridgeOutcome =
  | { kind: 'running' }
  | { kind: 'idle' }
  | { kind: 'failed'; reason: string }
  | { kind: 'permission'; requestId: string; reply: 'once' | 'reject'; permission: string }

interface Part {
  id?: string
  messageID?: string
  sessionID?: string
  type?: string
  text?: string
  tool?: string
  callID?: string
  state?: { status?: string; input?: unknown; output?: unknown; error?: unknown }
  tokens?: { input?: number; output?: number; cache?: { read?: number; write?: number } }
  cost?: number
}

const RUNNING: BridgeOutcome = { kind: 'running' }

/**
 * One turn's view of the event stream: feeds the sink with text deltas, tool starts and ends and
 * step usage of the assistant messages in our opencode session, and says when the turn is over.
 */
export class OpencodeEventBridge {
  private readonly assistantMessages = new Set<string>()
  /** Text part id → characters already given to the sink. */
  private readonly textParts = new Map<string, number>()
  private readonly toolsStarted = new Set<string>()
  private readonly toolsEnded = new Set<string>()
  private readonly stepsCounted = new Set<string>()
  private busy = false
  private error: string | null = null

  constructor(
    private readonly sink: TurnSink,
    private readonly sessionId: string,
    private readonly allowed: ReadonlySet<string>,
  ) {}

  handle(event: OpencodeEvent): BridgeOutcome {
    const p = event.properties ?? {}
    const session = typeof p.sessionID === 'string' ? p.sessionID : undefined
    switch (event.type) {
      case 'session.status': {
        if (session !== this.sessionId) return RUNNING
        const status = (p.status as { type?: string } | undefined)?.type
        if (status === 'busy') this.busy = true
        if (status === 'retry') this.sink.status(`model call retried: ${String((p.status as { message?: unknown }).message ?? '')}`.slice(0, 200))
        if (status === 'idle' && this.busy) return this.end()
        return RUNNING
      }
      case 'session.idle':
        return session === this.sessionId && this.busy ? this.end() : RUNNING
      case 'session.error':
        if (session === this.sessionId) this.noteError(errorText(p.error))
        return RUNNING
      case 'message.updated': {
        const info = p.info as { id?: string; role?: string; sessionID?: string; error?: unknown } | undefined
        if (info?.sessionID !== this.sessionId || info.role !== 'assistant' || !info.id) return RUNNING
        this.busy = true
        this.assistantMessages.add(info.id)
        if (info.error) this.noteError(errorText(info.error))
        return RUNNING
      }
      case 'message.part.delta':
        if (session !== this.sessionId || p.field !== 'text' || typeof p.partID !== 'string' || typeof p.delta !== 'string') return RUNNING
        if (this.textParts.has(p.partID) && p.delta !== '') {
          this.textParts.set(p.partID, (this.textParts.get(p.partID) ?? 0) + p.delta.length)
          this.sink.text(p.delta)
        }
        return RUNNING
      case 'message.part.updated':
        return this.part(p.part as Part | undefined)
      case 'permission.asked':
        return session === this.sessionId ? this.permission(p) : RUNNING
      default:
        return RUNNING
    }
  }

  /**
   * An abort is only ever ours (cancel or stop: the adapter returns on its signal), and its report
   * can arrive late, in the next turn: it never fails a turn.
   */
  private noteError(reason: string): void {
    if (!isAbortError(reason)) this.error ??= reason
  }

  private part(part: Part | undefined): BridgeOutcome {
    if (!part?.id || part.sessionID !== this.sessionId || !part.messageID || !this.assistantMessages.has(part.messageID)) return RUNNING
    if (part.type === 'text') {
      // Deltas carry the text as it streams; the part's whole text covers a provider that sent none.
      const given = this.textParts.get(part.id) ?? 0
      const text = part.text ?? ''
      if (text.length > given) this.sink.text(text.slice(given))
      this.textParts.set(part.id, Math.max(given, text.length))
    } else if (part.type === 'tool' && part.callID) {
      this.tool(part.callID, part.tool ?? 'tool', part.state ?? {})
    } else if (part.type === 'step-finish' && !this.stepsCounted.has(part.id)) {
      this.stepsCounted.add(part.id)
      const t = part.tokens ?? {}
      const inputTokens = (t.input ?? 0) + (t.cache?.read ?? 0) + (t.cache?.write ?? 0)
      this.sink.usage({ inputTokens, outputTokens: t.output ?? 0, ...(typeof part.cost === 'number' && part.cost > 0 ? { costUsd: part.cost } : {}) })
    }
    return RUNNING
  }

  private tool(key: string, name: string, state: NonNullable<Part['state']>): void {
    const status = state.status
    if (status === 'pending' || this.toolsEnded.has(key)) return
    if (!this.toolsStarted.has(key)) {
      this.toolsStarted.add(key)
      this.sink.toolStart({ key, name, input: state.input ?? {} })
    }
    if (status === 'completed') {
      this.toolsEnded.add(key)
      this.sink.toolEnd(key, { ok: true, output: state.output ?? '' })
    } else if (status === 'error') {
      this.toolsEnded.add(key)
      this.sink.toolEnd(key, { ok: false, error: typeof state.error === 'string' ? state.error : JSON.stringify(state.error ?? 'failed') })
    }
  }

  /** opencode asks only for what its ruleset leaves open: answered from the agent's allowed tools. */
  private permission(p: Record<string, unknown>): BridgeOutcome {
    const requestId = typeof p.id === 'string' ? p.id : ''
    const permission = typeof p.permission === 'string' ? p.permission : 'unknown'
    const reply = this.allowed.has(permission) ? 'once' : 'reject'
    this.sink.status(`permission ${permission}: ${reply === 'once' ? 'allowed' : 'denied'}`)
    return requestId ? { kind: 'permission', requestId, reply, permission } : RUNNING
  }

  private end(): BridgeOutcome {
    // A call still open when the run ended (aborted, or the model failed mid-call) ends failed.
    for (const key of this.toolsStarted)
      if (!this.toolsEnded.has(key)) {
        this.toolsEnded.add(key)
        this.sink.toolEnd(key, { ok: false, error: 'opencode ended the turn without a result for this call' })
      }
    return this.error ? { kind: 'failed', reason: this.error } : { kind: 'idle' }
  }
}

/** opencode's error object (`{ name, data: { message } }`) as one line. */
export function errorText(error: unknown): string {
  if (typeof error === 'string') return error
  const e = error as { name?: unknown; data?: { message?: unknown } } | null | undefined
  const message = typeof e?.data?.message === 'string' ? e.data.message : undefined
  const name = typeof e?.name === 'string' ? e.name : 'error'
  return message ? `opencode ${name}: ${message}` : `opencode ${name}`
}

/** Whether an error is opencode's report of our own abort (cancel/stop), not a failure. */
export function isAbortError(reason: string): boolean {
  return /MessageAbortedError/.test(reason)
}
