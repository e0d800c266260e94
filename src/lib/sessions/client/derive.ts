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
// Terminal: command blocks, history and the scroll-back window live in terminal-derive.ts
// ------------------------------------------------------------------------------------------
export * from './terminal-derive'

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
