/**
 * Pure views over a session's collections: messages from chunks, the terminal's command blocks
 * and shared command history from terminal lines, who is here from presence, the agent's state.
 * Rows come from StreamDB collections: `_seq` is the stream order StreamDB stamps on synced rows;
 * optimistic rows (not yet on the stream) have none and sort after everything synced.
 */
import {
  isPresenceGone,
  type AgentControl,
  type AgentState,
  type AgentStateEntry,
  type Chunk,
  type Presence,
  type TerminalLine,
  type ToolCall,
} from '../channel-schemas'

/** What a collection row carries besides its value. */
export interface RowMeta {
  _seq?: number
  $hasPendingWrites?: boolean
}

function streamOrder(a: RowMeta & { timestamp: number }, b: RowMeta & { timestamp: number }): number {
  const sa = a._seq ?? Number.POSITIVE_INFINITY
  const sb = b._seq ?? Number.POSITIVE_INFINITY
  if (sa !== sb) return sa < sb ? -1 : 1
  return a.timestamp - b.timestamp
}

function firstOrder(rows: readonly RowMeta[]): number {
  let min = Number.POSITIVE_INFINITY
  for (const row of rows) if (row._seq !== undefined && row._seq < min) min = row._seq
  return min
}

// ------------------------------------------------------------------------------------------
// Messages
// ------------------------------------------------------------------------------------------
export interface Message {
  id: string
  /** position in the stream (the first row of the message that arrived) */
  order: number
  role: Chunk['role']
  author: string
  turn: number
  text: string
  /** the last chunk arrived */
  done: boolean
  /** some chunk is still only optimistic (not confirmed by the stream) */
  pending: boolean
  /** chunks are missing between 0 and the highest seq seen (still streaming in) */
  gap: boolean
  startedAt: number
  toolCalls: Array<ToolCall & RowMeta>
}

export function deriveMessages(chunks: ReadonlyArray<Chunk & RowMeta>, toolCalls: ReadonlyArray<ToolCall & RowMeta> = []): Message[] {
  const byMessage = new Map<string, Array<Chunk & RowMeta>>()
  for (const chunk of [...chunks].sort(streamOrder)) {
    const list = byMessage.get(chunk.messageId)
    if (list) list.push(chunk)
    else byMessage.set(chunk.messageId, [chunk])
  }
  const callsByMessage = new Map<string, Array<ToolCall & RowMeta>>()
  for (const call of [...toolCalls].sort(streamOrder)) {
    const list = callsByMessage.get(call.messageId)
    if (list) list.push(call)
    else callsByMessage.set(call.messageId, [call])
  }
  const messages: Message[] = []
  for (const [messageId, all] of byMessage) {
    // A message belongs to whoever wrote its first chunk (in stream order); chunks under another
    // name or role are not part of it. The server refuses them, but one that slipped in (a race,
    // or an older stream) must never show as that author's words.
    const first = all[0]
    const list = all.filter((c) => c.author === first.author && c.role === first.role)
    const ordered = [...list].sort((a, b) => a.seq - b.seq)
    const maxSeq = ordered[ordered.length - 1].seq
    const calls = callsByMessage.get(messageId) ?? []
    // Compaction folded this message: its folded chunk has the whole text; the other chunks a
    // reader may still hold (read before compaction) are parts of that text, not additions.
    const folded = list.find((c) => c.folded !== undefined)
    messages.push({
      id: messageId,
      order: Math.min(firstOrder(list), firstOrder(calls)),
      role: first.role,
      author: first.author,
      turn: first.turn,
      text: folded ? folded.delta : ordered.map((c) => c.delta).join(''),
      done: folded !== undefined || ordered.some((c) => c.done),
      pending: ordered.some((c) => c.$hasPendingWrites === true),
      gap: folded ? false : new Set(ordered.map((c) => c.seq)).size !== maxSeq + 1,
      startedAt: first.timestamp,
      toolCalls: calls,
    })
    callsByMessage.delete(messageId)
  }
  // Tool calls whose message has no text (yet) still show, as an assistant message of their own.
  for (const [messageId, calls] of callsByMessage) {
    messages.push({
      id: messageId,
      order: firstOrder(calls),
      role: 'assistant',
      author: calls[0].agentId ?? 'agent',
      turn: 0,
      text: '',
      done: false,
      pending: false,
      gap: false,
      startedAt: calls[0].timestamp,
      toolCalls: calls,
    })
  }
  return messages.sort((a, b) => a.order - b.order || a.startedAt - b.startedAt)
}

// ------------------------------------------------------------------------------------------
// Terminal
// ------------------------------------------------------------------------------------------
export interface CommandBlock {
  /** the input line's id (output lines carry it as commandId) */
  id: string
  command: string
  source: string
  timestamp: number
  pending: boolean
  output: string
  exitCode?: number
}

/**
 * The command an input line carries, if it is one: a line from the prompt, i.e. text without
 * control characters (the worker presses Enter for it). Keys typed straight into the terminal
 * always carry a control key (Enter, arrows, Ctrl-C …) and go to whatever program is running, so
 * they are input to that command, not commands of their own.
 */
export function commandText(line: Pick<TerminalLine, 'kind' | 'data'>): string | undefined {
  if (line.kind !== 'input' || line.data === undefined) return undefined
  // eslint-disable-next-line no-control-regex -- control characters are what makes input raw
  if (/[\u0000-\u001f\u007f]/.test(line.data)) return undefined
  return line.data.trim().length > 0 ? line.data : undefined
}

export function sortTerminal<T extends TerminalLine & RowMeta>(lines: ReadonlyArray<T>): T[] {
  return [...lines].sort(streamOrder)
}

/**
 * Each command with the output the shell produced for it. The worker ties output to the input
 * line typed last; output after raw keys (answering a program the command started) stays with
 * that command.
 */
export function deriveCommandBlocks(lines: ReadonlyArray<TerminalLine & RowMeta>): CommandBlock[] {
  const blocks = new Map<string, CommandBlock>()
  const blockOfInput = new Map<string, CommandBlock>()
  let latest: CommandBlock | undefined
  for (const line of sortTerminal(lines)) {
    if (line.kind === 'input') {
      const command = commandText(line)
      if (command !== undefined) {
        latest = {
          id: line.id,
          command,
          source: line.source,
          timestamp: line.timestamp,
          pending: line.$hasPendingWrites === true,
          output: '',
        }
        blocks.set(line.id, latest)
      }
      if (latest) blockOfInput.set(line.id, latest)
      continue
    }
    const block = line.commandId ? blockOfInput.get(line.commandId) : undefined
    if (!block) continue
    if (line.kind === 'output' && line.data) block.output += line.data
    if (line.kind === 'exit') block.exitCode = line.exitCode
  }
  return [...blocks.values()]
}

/** Everyone's commands in stream order, oldest first, without immediate repeats. */
export function deriveCommandHistory(lines: ReadonlyArray<TerminalLine & RowMeta>): string[] {
  const history: string[] = []
  for (const line of sortTerminal(lines)) {
    const command = commandText(line)
    if (command !== undefined && history[history.length - 1] !== command) history.push(command)
  }
  return history
}

/** Newest-first matches for Ctrl-R reverse search. */
export function searchHistory(history: readonly string[], query: string): string[] {
  if (!query) return []
  const seen = new Set<string>()
  const out: string[] = []
  for (let i = history.length - 1; i >= 0; i--) {
    const entry = history[i]
    if (entry.includes(query) && !seen.has(entry)) {
      seen.add(entry)
      out.push(entry)
    }
  }
  return out
}

// ------------------------------------------------------------------------------------------
// Presence
// ------------------------------------------------------------------------------------------
export function deriveWhoIsHere<T extends Presence>(presence: ReadonlyArray<T>, now: number): T[] {
  return presence
    .filter((p) => !isPresenceGone(p, now))
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.userId.localeCompare(b.userId))
}

// ------------------------------------------------------------------------------------------
// Agent state
// ------------------------------------------------------------------------------------------
export function isAgentState(entry: AgentStateEntry): entry is AgentState {
  return entry.kind === 'state'
}

export function isAgentControl(entry: AgentStateEntry): entry is AgentControl {
  return entry.kind === 'control'
}

export interface AgentSummary {
  agents: AgentState[]
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
  /** the agent that changed last, for the status line */
  primary?: AgentState
  /** a stop request nobody has answered yet */
  stopRequested: boolean
}

const FINAL: ReadonlySet<AgentState['status']> = new Set(['stopped', 'failed'])

export function deriveAgentSummary(entries: ReadonlyArray<AgentStateEntry & RowMeta>): AgentSummary {
  const agents = entries.filter(isAgentState).sort((a, b) => a.agentId.localeCompare(b.agentId))
  const controls = entries.filter(isAgentControl)
  const primary = [...agents].sort((a, b) => b.timestamp - a.timestamp)[0]
  const lastStop = controls.filter((c) => c.action === 'stop').sort((a, b) => b.timestamp - a.timestamp)[0]
  const stopRequested = lastStop !== undefined && agents.some((a) => !FINAL.has(a.status) && a.timestamp < lastStop.timestamp)
  return {
    agents,
    tokensIn: agents.reduce((n, a) => n + a.tokensIn, 0),
    tokensOut: agents.reduce((n, a) => n + a.tokensOut, 0),
    costUsd: agents.reduce((n, a) => n + a.costUsd, 0),
    turns: agents.reduce((n, a) => n + a.turns, 0),
    primary,
    stopRequested,
  }
}
