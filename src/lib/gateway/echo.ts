/**
 * `echo`: the offline, deterministic TEST DOUBLE for the paid LLM APIs (Anthropic, OpenAI). It
 * makes no network call. It answers from the last user message alone, streams the answer a word
 * at a time, can ask for a tool call, and reports made-up but consistent usage, so demos and
 * tests exercise the whole agent loop (chunks, tool calls, usage, cancel, crash resume).
 *
 * The last user message decides (its last text block: a hand-off's "Agent @x wrote to you"
 * block comes before the reply; leading `@mentions` are dropped first, so `@b /count 3` is
 * `/count 3` for agent b):
 *   /run <command>     ask for the `shell` tool, then report its output
 *   tool: <command>    same as /run
 *   /read <path>       ask for `read_file`
 *   /write <path> <text>  ask for `write_file`
 * (External programs name their tools otherwise: /run asks for `shell`, else `bash` (OpenCode),
 * else `Bash` (Claude Code), whichever the request offers, with that tool's input shape; /read
 * `read_file` / `read` {filePath} / `Read` {file_path}; /write `write_file` / `write` / `Write`.
 * Text blocks that are a program's own `<system-reminder>` are skipped: the person's text decides.)
 *   /ls [path]         ask for `list_files`
 *   /count <n>         answer "1 2 3 … n"
 *   /slow <rest>       as <rest>, streaming each word after 40 ms (for cancel and crash tests)
 *   /relay <agent> <text>   answer "@<agent> <text>" (a scripted hand-off to another agent)
 *   /pingpong <x> <y>  answer "@<y> /pingpong <y> <x>" (two agents hand off to each other until
 *                      the session's cap on agent turns in a row refuses it)
 *   anything else      answer "Echo: <message>" (without its leading @mentions)
 * After a tool result it answers "<tool> succeeded:\n<output>" (or "failed").
 * Usage: 1 token per word in the last user message and per word streamed, at most maxTokens
 * words streamed (like a real model's max_tokens). The gateway prices echo at $1 per million
 * tokens (pricing.ts), so budget limits can be tested offline.
 */
import type { ContentBlock, ModelProvider, ProviderEvent, StepRequest } from './types'

const SLOW_WORD_MS = 40
const FAST_WORD_MS = 1

interface Plan {
  text: string
  toolCall?: { name: string; input: Record<string, unknown> }
}

function lastUserText(request: StepRequest): {
  text: string
  toolResult?: Extract<ContentBlock, { type: 'tool_result' }>
  toolName?: string
} {
  const last = request.messages.at(-1)
  if (last?.role !== 'user') return { text: '' }
  const result = last.content.find((b): b is Extract<ContentBlock, { type: 'tool_result' }> => b.type === 'tool_result')
  if (result) {
    // The tool's name is on the matching tool_use in the assistant message before.
    const use = request.messages
      .at(-2)
      ?.content.find((b): b is Extract<ContentBlock, { type: 'tool_use' }> => b.type === 'tool_use' && b.id === result.toolUseId)
    return { text: '', toolResult: result, toolName: use?.name ?? 'tool' }
  }
  // The person's text decides, not the reminders programs add to it (Claude Code's `<system-reminder>` blocks).
  const texts = last.content
    .filter((b): b is Extract<ContentBlock, { type: 'text' }> => b.type === 'text')
    .map((b) => withoutReminders(b.text))
    .filter((t) => t.trim() !== '')
  return { text: texts.at(-1) ?? '' }
}

/** Drops the `<system-reminder>…</system-reminder>` sections programs add to a user's text. */
export function withoutReminders(text: string): string {
  return text.replace(/<system-reminder>[\s\S]*?<\/system-reminder>/g, '')
}

/**
 * The tools a command asks for, by the names programs give them: Tether's own, then OpenCode's,
 * then Claude Code's; the first the request offers is asked for, with that program's input shape.
 */
const TOOL_FLAVOURS = {
  run: [
    ['shell', (c: string[]) => ({ command: c[0] })],
    ['bash', (c: string[]) => ({ command: c[0], description: `Run ${c[0]}` })],
    ['Bash', (c: string[]) => ({ command: c[0], description: `Run ${c[0]}` })],
  ],
  read: [
    ['read_file', (c: string[]) => ({ path: c[0] })],
    ['read', (c: string[]) => ({ filePath: c[0] })],
    ['Read', (c: string[]) => ({ file_path: c[0] })],
  ],
  write: [
    ['write_file', (c: string[]) => ({ path: c[0], content: c[1] })],
    ['write', (c: string[]) => ({ filePath: c[0], content: c[1] })],
    ['Write', (c: string[]) => ({ file_path: c[0], content: c[1] })],
  ],
} as const satisfies Record<string, ReadonlyArray<readonly [string, (c: string[]) => Record<string, unknown>]>>

/** Drops the `@agent` addresses a message starts with (`@a, @b hi` → `hi`). */
export function stripLeadingMentions(text: string): string {
  return text.replace(/^(?:\s*@[A-Za-z][\w-]{0,31}[,:]?)+\s*/, '')
}

/** The deterministic answer for a step; exported for tests. */
export function echoPlan(request: StepRequest): Plan & { slow: boolean } {
  const { text: raw, toolResult, toolName } = lastUserText(request)
  if (toolResult) {
    const verdict = toolResult.isError ? 'failed' : 'succeeded'
    return { text: `${toolName} ${verdict}:\n${toolResult.content}`, slow: false }
  }
  let text = stripLeadingMentions(raw.trim()).trim()
  let slow = false
  if (text.startsWith('/slow ')) {
    slow = true
    text = text.slice('/slow '.length).trim()
  }
  const allowed = new Set(request.tools.map((t) => t.name))
  const wantsTool = (name: string, input: Record<string, unknown>, say: string): Plan =>
    allowed.has(name) ? { text: say, toolCall: { name, input } } : { text: `The ${name} tool is not allowed in this session.` }
  /** The first flavour of a tool the request offers (else Tether's name, refused as not allowed). */
  const wantsOneOf = (kind: keyof typeof TOOL_FLAVOURS, args: string[], say: string): Plan => {
    const flavours = TOOL_FLAVOURS[kind]
    const [name, input] = flavours.find(([n]) => allowed.has(n)) ?? flavours[0]
    return wantsTool(name, input(args), say)
  }

  let plan: Plan
  const run = /^(?:\/run|tool:)\s*([\s\S]+)$/.exec(text)
  const read = /^\/read\s+(\S+)$/.exec(text)
  const write = /^\/write\s+(\S+)\s([\s\S]*)$/.exec(text)
  const ls = /^\/ls(?:\s+(\S+))?$/.exec(text)
  const count = /^\/count\s+(\d+)$/.exec(text)
  const relay = /^\/relay\s+@?([A-Za-z][\w-]*)\s+([\s\S]+)$/.exec(text)
  const pingpong = /^\/pingpong\s+@?([A-Za-z][\w-]*)\s+@?([A-Za-z][\w-]*)\s*$/.exec(text)
  if (run) plan = wantsOneOf('run', [run[1].trim()], `Running \`${run[1].trim()}\`.`)
  else if (read) plan = wantsOneOf('read', [read[1]], `Reading ${read[1]}.`)
  else if (write) plan = wantsOneOf('write', [write[1], write[2]], `Writing ${write[1]}.`)
  else if (ls) plan = wantsTool('list_files', { path: ls[1] ?? '.' }, `Listing ${ls[1] ?? '.'}.`)
  else if (count) plan = { text: Array.from({ length: Math.min(Number(count[1]), 100_000) }, (_, i) => String(i + 1)).join(' ') }
  else if (relay) plan = { text: `@${relay[1]} ${relay[2].trim()}` }
  else if (pingpong) plan = { text: `@${pingpong[2]} /pingpong ${pingpong[2]} ${pingpong[1]}` }
  else plan = { text: `Echo: ${text}` }
  return { ...plan, slow }
}

function words(text: string): string[] {
  return text.match(/\s*\S+\s*|\s+/g) ?? []
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export class EchoProvider implements ModelProvider {
  readonly name = 'echo'

  async *step(request: StepRequest): AsyncIterable<ProviderEvent> {
    const plan = echoPlan(request)
    // Resuming after a restart: the text up to `prefill` is already in the stream.
    let text = plan.text
    if (request.prefill && text.startsWith(request.prefill)) text = text.slice(request.prefill.length)
    const delay = plan.slow ? SLOW_WORD_MS : FAST_WORD_MS
    let streamed = 0
    const limit = request.maxTokens ?? Number.POSITIVE_INFINITY
    for (const word of words(text)) {
      if (streamed >= limit) break
      await sleep(delay, request.signal)
      streamed++
      yield { type: 'text', text: word }
    }
    if (plan.toolCall) yield { type: 'tool_call', name: plan.toolCall.name, input: plan.toolCall.input }
    const inputTokens = words(lastUserText(request).text).length
    yield { type: 'usage', usage: { inputTokens, outputTokens: streamed } }
  }
}
