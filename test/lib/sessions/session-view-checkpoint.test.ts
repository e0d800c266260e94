/**
 * View checkpoints (issue 10, the snapshot cache; src/lib/sessions/session-view.ts): a view opened
 * from a checkpoint taken at any point of a session, then fed the rest of the stream, answers
 * every head up to CHECKPOINT_MESSAGES exactly as a view fed the whole stream; a checkpoint of
 * such a view does too; a write into a message the checkpoint left out marks the view stale.
 * Pure: a generated session of 320 messages, turns in every state, presence, 2,000+ terminal rows.
 */
import { describe, expect, it } from 'vitest'
import { CHECKPOINT_MESSAGES, type ChangeEvent, SessionViewState, type ViewCheckpoint } from '../../../src/lib/sessions/session-view'

/** mulberry32: the same session on every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const upsert = (type: string, key: string, value: Record<string, unknown>): ChangeEvent => ({ type, key, value, headers: { operation: 'upsert' } })

/** `plain`: no old unfinished answer and no resize, so nothing the checkpoint keeps sits before the heads' windows. */
function session(turns: number, seed = 7, plain = false): ChangeEvent[] {
  const rnd = random(seed)
  const out: ChangeEvent[] = plain ? [] : [upsert('terminal', 'size-0', { kind: 'resize', cols: 80, rows: 24 })]
  let line = 0
  for (let t = 1; t <= turns; t++) {
    const q = `q${t}`
    const a = `a${t}`
    out.push(upsert('chunk', `${q}:0`, { messageId: q, role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: `question ${t}`, done: true }))
    const stuck = t === 5 && !plain
    const status = stuck ? 'streaming' : t === turns ? 'accepted' : rnd() < 0.1 ? 'cancelled' : 'done'
    out.push(upsert('agent-state', `turn:${q}`, { kind: 'turn', messageId: q, agentId: 'agent-1', turn: t, status: 'accepted', acceptedAt: t }))
    // Turn 5's answer never finishes (an old unfinished turn a dead worker left behind).
    const finish = !stuck && t !== turns
    const n = 2 + Math.floor(rnd() * 5)
    for (let seq = 0; seq < n; seq++) {
      out.push(upsert('chunk', `${a}:${seq}`, { messageId: a, role: 'assistant', author: 'agent-1', turn: t, seq, delta: `t${t}w${seq} `, done: finish && seq === n - 1 }))
      if (rnd() < 0.2) out.push(upsert('presence', `u-${Math.floor(rnd() * 4)}`, { cursor: { x: rnd(), y: rnd() } }))
    }
    if (rnd() < 0.3) {
      out.push(upsert('tool-call', `${a}:c0`, { id: `${a}:c0`, messageId: a, name: 'bash', status: 'running' }))
      if (finish) out.push(upsert('tool-call', `${a}:c0`, { id: `${a}:c0`, messageId: a, name: 'bash', status: 'succeeded' }))
    }
    out.push(upsert('agent-state', `turn:${q}`, { kind: 'turn', messageId: q, agentId: 'agent-1', turn: t, status, acceptedAt: t }))
    out.push(upsert('terminal', `in-${t}`, { kind: 'input', data: `cmd ${t}` }))
    for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++) out.push(upsert('terminal', `out-${line++}`, { kind: 'output', data: `${t}\r\n`.repeat(5 + Math.floor(rnd() * 10)) }))
    if (rnd() < 0.05 && !plain) out.push(upsert('terminal', `size-${t}`, { kind: 'resize', cols: 80 + t, rows: 24 }))
    if (rnd() < 0.05) out.push({ type: 'presence', key: 'u-1', headers: { operation: 'delete' } })
    out.push(upsert('agent-state', 'agent:agent-1', { kind: 'state', status: 'idle', turns: t }))
  }
  return out
}

const viewOf = (events: readonly ChangeEvent[]) => {
  const v = new SessionViewState()
  v.apply(events, `o${events.length}`)
  return v
}
/** Through JSON, as the database keeps it. */
const stored = (cp: ViewCheckpoint): ViewCheckpoint => JSON.parse(JSON.stringify(cp)) as ViewCheckpoint

describe('session view checkpoints', () => {
  const events = session(320)

  it.each([
    ['with an old unfinished answer and resizes', events],
    ['without them', session(320, 11, true)],
  ])('a view opened from a checkpoint answers every head as the whole stream does, wherever the checkpoint was taken (%s)', (_, events) => {
    const full = viewOf(events)
    for (const at of [0, 40, 900, Math.floor(events.length / 2), events.length - 50, events.length]) {
      const cp = stored(viewOf(events.slice(0, at)).checkpoint())
      const partial = SessionViewState.fromCheckpoint(cp)
      // The rest arrives in reads of various sizes, as a live session's would.
      for (let i = at; i < events.length; i += 37) partial.apply(events.slice(i, i + 37), `o${Math.min(i + 37, events.length)}`)
      expect(partial.stale, `checkpoint at ${at}`).toBe(false)
      for (const limit of [1, 30, CHECKPOINT_MESSAGES]) expect(partial.head(limit), `checkpoint at ${at}, limit ${limit}`).toEqual(full.head(limit))
    }
    // The checkpoints of a long session leave most of it out, and say so in the head.
    const late = viewOf(events.slice(0, events.length - 50)).checkpoint()
    expect(late.omittedMessages.length).toBeGreaterThan(300)
    expect(late.terminalOmitted).toBe(true)
    expect(late.events.length).toBeLessThan(events.length / 3)
    expect(full.head(30).olderBefore).not.toBeNull()
    expect(full.head(30).terminalBefore).not.toBeNull()
  })

  it('keeps the old unfinished answer and its turn, so Stop acts on the same turn', () => {
    const cp = viewOf(events).checkpoint()
    expect(cp.events.some((e) => e.key === 'a5:0')).toBe(true)
    expect(cp.events.some((e) => e.key === 'turn:q5')).toBe(true)
    expect(cp.omittedMessages).not.toContain('a5')
    expect(cp.events.some((e) => e.key === 'turn:q6')).toBe(false)
  })

  it('a checkpoint of a view opened from a checkpoint is as good as the first', () => {
    const full = viewOf(events)
    const first = SessionViewState.fromCheckpoint(stored(viewOf(events.slice(0, 1000)).checkpoint()))
    first.apply(events.slice(1000, 3000), 'o3000')
    const second = SessionViewState.fromCheckpoint(stored(first.checkpoint()))
    second.apply(events.slice(3000), `o${events.length}`)
    expect(second.head(CHECKPOINT_MESSAGES)).toEqual(full.head(CHECKPOINT_MESSAGES))
    expect(second.offset).toBe(`o${events.length}`)
  })

  it('marks itself stale when a write changes a message it left out; a reset makes it whole again', () => {
    const partial = SessionViewState.fromCheckpoint(stored(viewOf(events).checkpoint()))
    expect(partial.partial).toBe(true)
    partial.apply([upsert('chunk', 'a100:99', { messageId: 'a100', role: 'assistant', author: 'agent-1', turn: 100, seq: 99, delta: 'late' })], 'x1')
    expect(partial.stale).toBe(true)
    // A new message, or a row of a held one, is not a reason.
    const other = SessionViewState.fromCheckpoint(stored(viewOf(events).checkpoint()))
    other.apply([upsert('chunk', 'a5:50', { messageId: 'a5', role: 'assistant', author: 'agent-1', turn: 5, seq: 50, delta: 'more' })], 'x1')
    other.apply([upsert('chunk', 'new:0', { messageId: 'new', role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: 'hi', done: true })], 'x2')
    expect(other.stale).toBe(false)
    partial.apply([{ type: 'control', key: 'reset', headers: { control: 'reset' } }, upsert('chunk', 'n:0', { messageId: 'n', seq: 0, delta: 'x', done: true })], 'x2')
    expect(partial.stale).toBe(false)
    expect(partial.partial).toBe(false)
    expect(partial.head().olderBefore).toBeNull()
  })
})
