/**
 * The claude-agent-sdk adapter's pure half: which Claude Code tools a Tether agent gets, how the
 * conversation is handed to a fresh Claude Code session, and how the SDK's message stream becomes
 * TurnSink reports. No process, no I/O: unit-tested on recorded message shapes
 * (test/worker/adapters/claude-agent-sdk-events.test.ts).
 */
import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk'
import type { ToolName } from '../events'
import type { ProviderMessage } from '../providers/types'
import { resumedHistory } from './resumed-history'
import type { TurnSink } from './types'

/** Tether's tool names → the Claude Code built-in tools that do that job. */
export const CLAUDE_TOOLS: Record<ToolName, readonly string[]> = {
  shell: ['Bash'],
  read_file: ['Read'],
  write_file: ['Write', 'Edit'],
  // Claude Code 2.x has no LS tool: Glob lists.
  list_files: ['Glob'],
}

/**
 * Built-ins that reach past the work dir and the model proxy (the web, subagents, notebooks,
 * background shells): disallowed whatever the agent's tools are, on top of the `tools` base set
 * (which already leaves them out), so a Claude Code that adds them back to a preset still cannot.
 */
export const ALWAYS_DISALLOWED = [
  'WebFetch',
  'WebSearch',
  'Task',
  'Agent',
  'NotebookEdit',
  'KillShell',
  'BashOutput',
  'Skill',
  'SlashCommand',
] as const

export interface ClaudeToolPolicy {
  /** The base set Claude Code offers the model. */
  tools: string[]
  /** Allowed without asking (permissionMode dontAsk denies everything else). */
  allowedTools: string[]
  disallowedTools: string[]
}

export function claudeToolPolicy(tools: readonly ToolName[]): ClaudeToolPolicy {
  const allowed = [...new Set(tools.flatMap((t) => CLAUDE_TOOLS[t] ?? []))]
  const every = new Set(Object.values(CLAUDE_TOOLS).flat())
  const disallowed = [...[...every].filter((t) => !allowed.includes(t)), ...ALWAYS_DISALLOWED]
  return { tools: allowed, allowedTools: allowed, disallowedTools: disallowed }
}

/** What Claude Code is told of the conversation when it starts without it (resumed-history.ts). */
export const historyContext = (history: readonly ProviderMessage[]): string | null => resumedHistory(history, 4_000)

/** A tool result's content as text (a string, or text blocks joined). */
export function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content === undefined || content === null ? '' : JSON.stringify(content)
  return content
    .map((block: unknown) => {
      const b = block as { type?: unknown; text?: unknown }
      return b.type === 'text' && typeof b.text === 'string' ? b.text : `[${String(b.type)}]`
    })
    .join('\n')
}

/** How a query ended, as far as the stream told. */
export type BridgeOutcome = { kind: 'running' } | { kind: 'done' } | { kind: 'failed'; reason: string }

/**
 * One query()'s messages → sink reports. Stateful per query: which tool calls were started (each
 * reported once, however often Claude Code repeats the block) and which assistant messages
 * streamed their text as deltas (a message that did not is reported whole).
 *
 * Usage is the turn's tokens without a cost: Claude Code's `total_cost_usd` is its own estimate
 * at Anthropic list prices (for `echo` or a non-Anthropic model behind the gateway, a guess at its
 * default model's rate), while the gateway prices every call it serves in its ledger, and the
 * session's usage shows the larger of report and ledger: an estimate here could only inflate it.
 */
export class ClaudeEventBridge {
  private readonly started = new Set<string>()
  private readonly ended = new Set<string>()
  private readonly streamedMessages = new Set<string>()
  private currentStreamMessage: string | null = null
  sessionId: string | null = null

  constructor(private readonly sink: TurnSink) {}

  handle(message: SDKMessage): BridgeOutcome {
    if ('session_id' in message && typeof message.session_id === 'string') this.sessionId = message.session_id
    // Subagents' frames (parent_tool_use_id set) are the parent's tool call's business.
    if ('parent_tool_use_id' in message && message.parent_tool_use_id) return { kind: 'running' }
    switch (message.type) {
      case 'stream_event':
        this.streamEvent(message.event)
        return { kind: 'running' }
      case 'assistant':
        return this.assistant(message)
      case 'user':
        this.toolResults(message.message.content)
        return { kind: 'running' }
      case 'system':
        this.system(message)
        return { kind: 'running' }
      case 'result':
        return this.result(message)
      default:
        return { kind: 'running' }
    }
  }

  private streamEvent(event: Extract<SDKMessage, { type: 'stream_event' }>['event']): void {
    if (event.type === 'message_start') this.currentStreamMessage = event.message.id
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta' && event.delta.text !== '') {
      if (this.currentStreamMessage) this.streamedMessages.add(this.currentStreamMessage)
      this.sink.text(event.delta.text)
    }
  }

  private assistant(message: Extract<SDKMessage, { type: 'assistant' }>): BridgeOutcome {
    // A model call that failed for good arrives as a synthetic assistant message with `error`
    // whose text is the API's message: the result that follows fails the turn with it, so it is
    // a status line, not the agent's words.
    if (message.error) {
      this.sink.status(`model error: ${message.error}`)
      return { kind: 'running' }
    }
    const streamed = this.streamedMessages.has(message.message.id)
    for (const block of message.message.content) {
      if (block.type === 'text' && !streamed && block.text !== '') this.sink.text(block.text)
      else if (block.type === 'tool_use' && !this.started.has(block.id)) {
        this.started.add(block.id)
        this.sink.toolStart({ key: block.id, name: block.name, input: block.input })
      }
    }
    return { kind: 'running' }
  }

  private toolResults(content: unknown): void {
    if (!Array.isArray(content)) return
    for (const block of content as Array<Record<string, unknown>>) {
      if (block.type !== 'tool_result' || typeof block.tool_use_id !== 'string') continue
      const key = block.tool_use_id
      if (!this.started.has(key) || this.ended.has(key)) continue
      this.ended.add(key)
      const text = toolResultText(block.content)
      this.sink.toolEnd(key, block.is_error === true ? { ok: false, error: text } : { ok: true, output: text })
    }
  }

  private system(message: Extract<SDKMessage, { type: 'system' }>): void {
    if (message.subtype === 'api_retry') this.sink.status(`model call retry ${message.attempt}/${message.max_retries}`)
    else if (message.subtype === 'permission_denied') this.sink.status(`${message.tool_name} denied (not allowed to this agent)`)
  }

  private result(message: Extract<SDKMessage, { type: 'result' }>): BridgeOutcome {
    const u = message.usage
    const inputTokens = (u?.input_tokens ?? 0) + (u?.cache_creation_input_tokens ?? 0) + (u?.cache_read_input_tokens ?? 0)
    if (inputTokens > 0 || (u?.output_tokens ?? 0) > 0) this.sink.usage({ inputTokens, outputTokens: u?.output_tokens ?? 0 })
    // Calls that never answered end the tool call, not leave it running.
    for (const key of this.started) if (!this.ended.has(key)) this.toolEndUnanswered(key)
    if (message.subtype === 'success') {
      if (message.is_error) return { kind: 'failed', reason: `Claude Code: ${message.result || 'the run failed'}` }
      return { kind: 'done' }
    }
    const errors = message.errors?.filter((e) => e.trim() !== '') ?? []
    return { kind: 'failed', reason: `Claude Code ${message.subtype}${errors.length ? `: ${errors.join('; ')}` : ''}` }
  }

  private toolEndUnanswered(key: string): void {
    this.ended.add(key)
    this.sink.toolEnd(key, { ok: false, error: 'Claude Code ended the turn without a result for this call' })
  }
}
