/**
 * Pure views over a session's collections: messages from chunks, the terminal's command blocks
 * and shared command history from terminal lines, who is here from presence, the agent's state.
 * Rows come from StreamDB collections: `_seq` is the stream order StreamDB stamps on synced rows;
 * optimistic rows (not yet on the stream) have none and sort after everything synced.
 */
import { isPresenceGone } from '../channel-constants'
import type { AgentControl, AgentState, AgentStateEntry, Chunk, Presence, ToolCall } from '../channel-schemas'

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

/** Stream order, then id: a total order, so the same rows always give the same message. */
function chunkOrder(a: RowMeta & { timestamp: number; id: string }, b: RowMeta & { timestamp: number; id: string }): number {
  return streamOrder(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
}

/** The order messages show in: where they start in the stream, then when, then id. */
export function compareMessages(a: Message, b: Message): number {
  if (a.order !== b.order) return a.order < b.order ? -1 : 1
  if (a.startedAt !== b.startedAt) return a.startedAt - b.startedAt
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/**
 * One message from all the chunk and tool-call rows that name it (any order); undefined when it
 * has neither. deriveMessages and the incremental MessageIndex (message-index.ts) both build
 * messages with this, so they agree by construction.
 */
export function deriveMessage(
  messageId: string,
  chunkRows: Iterable<Chunk & RowMeta>,
  callRows: Iterable<ToolCall & RowMeta>,
): Message | undefined {
  const all = [...chunkRows].sort(chunkOrder)
  const calls = [...callRows].sort(chunkOrder)
  if (all.length === 0) {
    // Tool calls whose message has no text (yet) still show, as an assistant message of their own.
    if (calls.length === 0) return undefined
    return {
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
    }
  }
  // A message belongs to whoever wrote its first chunk (in stream order); chunks under another
  // name or role are not part of it. The server refuses them, but one that slipped in (a race,
  // or an older stream) must never show as that author's words.
  const first = all[0]
  const list = all.filter((c) => c.author === first.author && c.role === first.role)
  const ordered = [...list].sort((a, b) => a.seq - b.seq)
  const maxSeq = ordered[ordered.length - 1].seq
  // Compaction folded this message: its folded chunk has the whole text; the other chunks a
  // reader may still hold (read before compaction) are parts of that text, not additions.
  const folded = list.find((c) => c.folded !== undefined)
  return {
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
  }
}

/** Every message, from scratch (the reference the incremental MessageIndex must equal). */
export function deriveMessages(chunks: ReadonlyArray<Chunk & RowMeta>, toolCalls: ReadonlyArray<ToolCall & RowMeta> = []): Message[] {
  const chunksOf = new Map<string, Array<Chunk & RowMeta>>()
  for (const chunk of chunks) {
    const list = chunksOf.get(chunk.messageId)
    if (list) list.push(chunk)
    else chunksOf.set(chunk.messageId, [chunk])
  }
  const callsOf = new Map<string, Array<ToolCall & RowMeta>>()
  for (const call of toolCalls) {
    const list = callsOf.get(call.messageId)
    if (list) list.push(call)
    else callsOf.set(call.messageId, [call])
  }
  const messages: Message[] = []
  for (const id of new Set([...chunksOf.keys(), ...callsOf.keys()])) {
    const message = deriveMessage(id, chunksOf.get(id) ?? [], callsOf.get(id) ?? [])
    if (message) messages.push(message)
  }
  return messages.sort(compareMessages)
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
