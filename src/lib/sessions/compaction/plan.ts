/**
 * The compaction planner for a session stream: given its events in stream order (each with the
 * append row and index it sits at), says which events to drop and which to rewrite in place.
 * Pure: no clock, no I/O. The streams layer (src/lib/streams/compaction.ts) applies the plan.
 *
 * Every kept event keeps its position, so a reader resuming from any offset gets exactly the kept
 * events after it, and the state they build is the same as a full replay's (specs/sessions.md,
 * "Retention and compaction"). Per channel:
 * - chunk: a finished message (its last event is the `done` chunk, seqs 0..done without gaps, one
 *   author) older than the grace period keeps its FIRST event (message order and authorship) and
 *   has its LAST event replaced by one folded chunk `<messageId>:folded` holding the whole text;
 *   the chunks between are dropped. A reader between the two gets the fold after its offset.
 * - tool-call, agent-state controls and turn records: the first event per key (where it appeared:
 *   the worker's step structure depends on it) and the last one (its state) are kept.
 * - agent-state `kind: 'state'`: only the last event per key.
 * - presence: only the last event per key, and only while it is younger than the window.
 * - terminal: the newest output lines within the line and byte budgets, the newest input lines
 *   within their own budget (an input's output and exit lines go with it), the last resize per
 *   source; exit lines of kept inputs are always kept (they mark a command answered).
 * Anything else (unknown channels, malformed events) is kept as it is.
 */

export interface PlannedEvent {
  /** Append row (sequence number) the event is in. */
  seq: number
  /** Index of the event within its row. */
  index: number
  event: unknown
}

export interface CompactionPolicy {
  /** Fold finished messages' chunks. */
  chunks: boolean
  /** A message is folded only this long after its done chunk. */
  chunkGraceMs: number
  /** Presence events older than this are dropped (the newest per person within it is kept). */
  presenceWindowMs: number
  /** Output lines kept per session (newest first). */
  terminalOutputLines: number
  /** Bytes of output text kept per session (newest first). */
  terminalOutputBytes: number
  /** Input lines kept per session (newest first). */
  terminalInputLines: number
}

export interface CompactionPlan {
  /** Events to remove, as `${seq}:${index}`. */
  drop: Set<string>
  /** Events to rewrite in place, by `${seq}:${index}`. */
  replace: Map<string, unknown>
}

/** Folded text above this would not pass the chunk schema's delta limit: such messages stay as they are. */
export const FOLD_TEXT_MAX = 256 * 1024
/** Likewise for the folded chunk's id (the schema's id limit). */
const FOLD_ID_MAX = 200

interface Ev {
  at: string
  type: string
  key: string
  op: string
  value: Record<string, unknown> | null
  headers: Record<string, unknown>
}

const obj = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null

function parse(p: PlannedEvent): Ev | null {
  const e = obj(p.event)
  const headers = obj(e?.headers)
  if (!e || !headers || typeof e.type !== 'string' || typeof e.key !== 'string' || typeof headers.operation !== 'string') return null
  return { at: `${p.seq}:${p.index}`, type: e.type, key: e.key, op: headers.operation, value: obj(e.value), headers }
}

/** When an event happened (epoch ms), from its value or its header; null when it does not say. */
function timeOf(e: Ev, field = 'timestamp'): number | null {
  const v = e.value?.[field]
  if (typeof v === 'number' && Number.isFinite(v)) return v
  const h = typeof e.headers.timestamp === 'string' ? Date.parse(e.headers.timestamp) : Number.NaN
  return Number.isFinite(h) ? h : null
}

function groupBy<K>(events: readonly Ev[], keyOf: (e: Ev) => K | null): Map<K, Ev[]> {
  const out = new Map<K, Ev[]>()
  for (const e of events) {
    const k = keyOf(e)
    if (k === null) continue
    const list = out.get(k)
    if (list) list.push(e)
    else out.set(k, [e])
  }
  return out
}

export function planCompaction(input: readonly PlannedEvent[], policy: CompactionPolicy, now: number): CompactionPlan {
  const plan: CompactionPlan = { drop: new Set(), replace: new Map() }
  const events: Ev[] = []
  for (const p of input) {
    const e = parse(p)
    if (e) events.push(e)
  }
  if (policy.chunks) planChunks(events, policy, now, plan)
  planUpserts(events, plan)
  planPresence(events, policy, now, plan)
  planTerminal(events, policy, plan)
  return plan
}

function planChunks(events: readonly Ev[], policy: CompactionPolicy, now: number, plan: CompactionPlan): void {
  const byMessage = groupBy(events, (e) => (e.type === 'chunk' && typeof e.value?.messageId === 'string' ? e.value.messageId : null))
  for (const [messageId, list] of byMessage) {
    if (list.length < 3) continue // first + fold would save nothing
    const first = list[0]!
    const last = list[list.length - 1]!
    const role = first.value?.role
    const author = first.value?.author
    if (last.value?.done !== true || typeof last.value.seq !== 'number') continue
    const doneAt = timeOf(last)
    if (doneAt === null || now - doneAt < policy.chunkGraceMs) continue
    const parts = new Map<number, string>()
    let foldable = true
    for (const e of list) {
      const v = e.value
      // Already folded, deleted, by someone else, or not a plain chunk: leave the message alone.
      if (!v || e.op === 'delete' || v.folded !== undefined || v.role !== role || v.author !== author) foldable = false
      else if (typeof v.seq !== 'number' || typeof v.delta !== 'string') foldable = false
      else if (!parts.has(v.seq)) parts.set(v.seq, v.delta)
      if (!foldable) break
    }
    const doneSeq = last.value.seq
    if (!foldable || parts.size !== doneSeq + 1) continue
    let text = ''
    for (let s = 0; s <= doneSeq; s++) {
      const part = parts.get(s)
      if (part === undefined) {
        foldable = false
        break
      }
      text += part
    }
    const id = `${messageId}:folded`
    if (!foldable || text.length > FOLD_TEXT_MAX || id.length > FOLD_ID_MAX) continue
    plan.replace.set(last.at, {
      type: 'chunk',
      key: id,
      value: { ...last.value, id, seq: doneSeq, delta: text, done: true, folded: parts.size },
      // The done chunk's event id stays: a late retry of it is still recognised as a duplicate.
      headers: { ...last.headers, operation: 'upsert' },
    })
    for (let i = 1; i < list.length - 1; i++) plan.drop.add(list[i]!.at)
  }
}

function planUpserts(events: readonly Ev[], plan: CompactionPlan): void {
  const byKey = groupBy(events, (e) => (e.type === 'tool-call' || e.type === 'agent-state' ? `${e.type}\u0000${e.key}` : null))
  for (const list of byKey.values()) {
    if (list.length < 2) continue
    // An agent's own state is a heartbeat: only the latest matters. Other entries keep where they began.
    const lastOnly = list[0]!.type === 'agent-state' && list.every((e) => e.value?.kind === 'state' || e.op === 'delete')
    for (let i = lastOnly ? 0 : 1; i < list.length - 1; i++) plan.drop.add(list[i]!.at)
  }
}

function planPresence(events: readonly Ev[], policy: CompactionPolicy, now: number, plan: CompactionPlan): void {
  const byKey = groupBy(events, (e) => (e.type === 'presence' ? e.key : null))
  for (const list of byKey.values()) {
    for (let i = 0; i < list.length - 1; i++) plan.drop.add(list[i]!.at)
    const last = list[list.length - 1]!
    const at = timeOf(last, 'lastSeen')
    if (at !== null && now - at > policy.presenceWindowMs) plan.drop.add(last.at)
  }
}

function planTerminal(events: readonly Ev[], policy: CompactionPolicy, plan: CompactionPlan): void {
  const lines = events.filter((e) => e.type === 'terminal' && e.value && e.op !== 'delete')
  const droppedInputs = new Set<string>()
  let inputs = 0
  let outputs = 0
  let outputBytes = 0
  const lastResize = new Set<string>()
  // Newest first: budgets keep the most recent scroll-back.
  for (let i = lines.length - 1; i >= 0; i--) {
    const e = lines[i]!
    const v = e.value!
    if (v.kind === 'input') {
      inputs += 1
      if (inputs > policy.terminalInputLines) {
        plan.drop.add(e.at)
        droppedInputs.add(e.key)
      }
    } else if (v.kind === 'resize') {
      const source = String(v.source)
      if (lastResize.has(source)) plan.drop.add(e.at)
      else lastResize.add(source)
    } else if (v.kind === 'output') {
      outputs += 1
      outputBytes += typeof v.data === 'string' ? v.data.length : 0
      if (outputs > policy.terminalOutputLines || outputBytes > policy.terminalOutputBytes) plan.drop.add(e.at)
    }
  }
  if (droppedInputs.size === 0) return
  // Output and exit lines of a dropped input go with it (they come after it, so a second pass).
  for (const e of lines) {
    const commandId = e.value!.commandId
    if (typeof commandId === 'string' && droppedInputs.has(commandId)) plan.drop.add(e.at)
  }
}
