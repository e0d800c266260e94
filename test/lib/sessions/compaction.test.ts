/**
 * Bar 3 of issue #10: a session with 20 turns of streamed chunks, presence churn and terminal
 * output is compacted (three times, with writes between); a reader from offset -1 and readers
 * resuming from ten offsets recorded before and after compaction points all reach the same state
 * as an identical session that was never compacted; the stored bytes shrink.
 * Real SQLite file, real HTTP on loopback, events written through the writer like the worker does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Chunk, Presence, TerminalLine, ToolCall } from '../../../src/lib/sessions/channel-schemas'
import { deriveMessages, deriveWhoIsHere, type RowMeta } from '../../../src/lib/sessions/client/derive'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

const OUTPUT_BUDGET = 40
const INPUT_BUDGET = 12
const GRACE_MS = 60_000

// biome-ignore lint/suspicious/noExplicitAny: events are loose JSON read back from the stream
type Event = Record<string, any>

/** A State Protocol reader: last write wins per type+key, delete removes; `_seq` = arrival order (as StreamDB stamps it). */
class Reader {
  readonly rows = new Map<string, Map<string, Record<string, unknown>>>()
  private order = 0
  apply(events: readonly Event[]): this {
    for (const e of events) {
      if (typeof e.type !== 'string' || typeof e.key !== 'string') continue
      let table = this.rows.get(e.type)
      if (!table) this.rows.set(e.type, (table = new Map()))
      if (e.headers?.operation === 'delete') table.delete(e.key)
      else table.set(e.key, { ...e.value, id: e.key, _seq: this.order++ })
    }
    return this
  }
  values<T>(type: string): Array<T & RowMeta> {
    return [...(this.rows.get(type)?.values() ?? [])] as Array<T & RowMeta>
  }
}

const strip = (row: object): Record<string, unknown> => Object.fromEntries(Object.entries(row).filter(([k]) => k !== '_seq'))
const byId = (rows: Array<Record<string, unknown>>) => rows.map(strip).sort((a, b) => String(a.id).localeCompare(String(b.id)))

/** What a person sees: messages (text, order, authorship), tool calls, agent state, who is here, the terminal. */
function view(r: Reader, now: number) {
  const messages = deriveMessages(r.values<Chunk>('chunk'), r.values<ToolCall>('tool-call')).map((m) => ({
    id: m.id,
    role: m.role,
    author: m.author,
    turn: m.turn,
    text: m.text,
    done: m.done,
    gap: m.gap,
    startedAt: m.startedAt,
    toolCalls: m.toolCalls.map((c) => c.id),
  }))
  const lines = r.values<TerminalLine>('terminal').sort((a, b) => (a._seq ?? 0) - (b._seq ?? 0))
  return {
    messages,
    toolCalls: byId(r.values('tool-call')),
    agentState: byId(r.values('agent-state')),
    here: deriveWhoIsHere(r.values<Presence>('presence'), now).map(strip),
    outputs: lines.filter((l) => l.kind === 'output').map(strip),
    inputs: lines.filter((l) => l.kind === 'input').map(strip),
    exits: lines.filter((l) => l.kind === 'exit').map(strip),
  }
}

/** The reference (never compacted) view cut to the scroll-back budgets compaction keeps. */
function withinBudget(v: ReturnType<typeof view>) {
  const inputs = v.inputs.slice(-INPUT_BUDGET)
  const kept = new Set(inputs.map((l) => l.id))
  return {
    ...v,
    inputs,
    outputs: v.outputs.filter((l) => kept.has(String(l.commandId))).slice(-OUTPUT_BUDGET),
    exits: v.exits.filter((l) => kept.has(String(l.commandId))),
  }
}

describe('session stream compaction (builtin streams)', () => {
  let h: Harness
  let compacted: string
  let reference: string
  /** Offsets of the compacted session with what a reader had read up to each. */
  const readers: Array<{ offset: string; seen: Event[]; label: string }> = []
  const reports: Array<{ before: { bytes: number; events: number }; after: { bytes: number; events: number } }> = []
  let storedBefore = 0
  let storedAfter = 0

  const stored = (sid: string) =>
    (
      h.app.streams!.sqlite
        .prepare(
          `SELECT COALESCE(SUM(length(m.data)), 0) AS n FROM messages m JOIN streams s ON s.id = m.stream_id WHERE s.path = ?`,
        )
        .get(`sessions/${sid}`) as { n: number }
    ).n

  beforeAll(async () => {
    h = await startHarness('builtin', {
      sessions: {
        compaction: { chunkGraceMs: GRACE_MS, terminalOutputLines: OUTPUT_BUDGET, terminalInputLines: INPUT_BUDGET, intervalMs: 0 },
      },
    })
    compacted = await createSession(h)
    reference = await createSession(h)
    const tokens = new Map<string, string>()
    const tokenFor = async (sid: string, role: 'collaborator' | 'worker', subject: string) => {
      const k = `${sid}/${subject}`
      if (!tokens.has(k)) tokens.set(k, await h.app.issueToken({ role, sessionId: sid, subject }))
      return tokens.get(k)!
    }
    /** One write to both sessions (same ids, same clock); returns the compacted session's new offset. */
    const both = async (who: { role: 'collaborator' | 'worker'; subject: string }, events: unknown): Promise<string> => {
      const a = await write(h, compacted, events, await tokenFor(compacted, who.role, who.subject))
      await write(h, reference, events, await tokenFor(reference, who.role, who.subject))
      h.clock.advance(50)
      return a.offset
    }
    const record = async (label: string, offset: string) => {
      readers.push({ offset, seen: (await readStream(h, compacted, '-1')).events, label })
    }
    const compact = async () => {
      h.clock.advance(GRACE_MS + 1)
      const res = await h.request(`/api/sessions/${compacted}/compact`, { method: 'POST', token: h.adminToken })
      expect(res.status).toBe(200)
      reports.push(await res.json())
    }
    const agent = { role: 'worker' as const, subject: 'agent-1' }
    const people = [
      { role: 'collaborator' as const, subject: 'u-ann', name: 'Ann', color: '#ff0000' },
      { role: 'collaborator' as const, subject: 'u-bob', name: 'Bob', color: '#0000ff' },
    ]
    let tokensOut = 0

    for (let turn = 1; turn <= 20; turn++) {
      const person = people[turn % 2]!
      const userId = `u${turn}`
      // A user message: some in one chunk, some typed in three.
      const userParts = turn % 3 === 0 ? ['please ', 'run ', `step ${turn}`] : [`run step ${turn}`]
      for (const [seq, delta] of userParts.entries()) {
        await both(person, {
          channel: 'chunk',
          data: { messageId: userId, role: 'user', author: person.subject, turn: 0, seq, delta, done: seq === userParts.length - 1 },
        })
      }
      const messageId = `agent-1:t${turn}:s0`
      const call = (status: string) => ({
        channel: 'tool-call',
        data: { id: `${messageId}:c0`, messageId, agentId: 'agent-1', name: 'bash', input: { cmd: `echo ${turn}` }, status },
      })
      for (let seq = 0; seq < 12; seq++) {
        tokensOut += 1
        const events: unknown[] = [{ channel: 'chunk', data: { messageId, role: 'assistant', author: 'agent-1', turn, seq, delta: `tok${seq} `, done: false } }]
        if (seq === 0) {
          events.push({
            channel: 'agent-state',
            data: { agentId: 'agent-1', status: 'thinking', tokensIn: turn * 10, tokensOut, costUsd: turn / 1000, turns: turn - 1 },
          })
        }
        const offset = await both(agent, events)
        // Presence churn: both people heartbeat (cursor moves) every few chunks.
        if (seq % 3 === 0) {
          for (const p of people) {
            await both(p, {
              channel: 'presence',
              data: { userId: p.subject, displayName: p.name, color: p.color, status: 'active', cursor: { x: seq, y: turn } },
            })
          }
        }
        if (seq === 6 && turn % 4 === 2) await record(`turn ${turn} mid-message`, offset)
      }
      await both(agent, [call('pending')])
      const input = `in-${turn}`
      await both(person, { channel: 'terminal', data: { id: input, kind: 'input', source: person.subject, data: `echo ${turn}` } })
      await both(agent, [call('running')])
      for (let n = 0; n < 5; n++) {
        await both(agent, {
          channel: 'terminal',
          data: { id: `${input}:o${n}`, kind: 'output', source: 'agent-1', stream: 'stdout', data: `${turn}.${n}\r\n`, commandId: input },
        })
      }
      await both(agent, { channel: 'terminal', data: { id: `${input}:o5`, kind: 'exit', source: 'agent-1', exitCode: 0, commandId: input } })
      await both(agent, [
        call('succeeded'),
        { channel: 'chunk', data: { messageId, role: 'assistant', author: 'agent-1', turn, seq: 12, delta: 'done.', done: true } },
        {
          channel: 'agent-state',
          data: { agentId: 'agent-1', status: 'idle', tokensIn: turn * 10, tokensOut, costUsd: turn / 1000, turns: turn },
        },
      ])
      if (turn % 4 === 0) {
        const tail = (await readStream(h, compacted, '-1')).next
        await record(`end of turn ${turn}`, tail)
      }
      if (turn === 9 || turn === 15) {
        await compact()
        const tail = (await readStream(h, compacted, '-1')).next
        await record(`right after compaction ${reports.length}`, tail)
      }
    }
    // The reference got the same writes and was never compacted: it is the size without compaction.
    storedBefore = stored(reference)
    await compact()
    storedAfter = stored(compacted)
  }, 240_000)

  afterAll(async () => {
    await h?.close()
  })

  it('records at least ten reader offsets, before and after compaction points, some of rows compaction removed', () => {
    expect(readers.length).toBeGreaterThanOrEqual(10)
    expect(reports.length).toBe(3)
    const rowExists = h.app.streams!.sqlite.prepare(
      `SELECT 1 FROM messages m JOIN streams s ON s.id = m.stream_id WHERE s.path = ? AND m.seq = ?`,
    )
    const gone = readers.filter((r) => !rowExists.get(`sessions/${compacted}`, Number(r.offset.slice(0, 16))))
    expect(gone.length).toBeGreaterThan(0)
  })

  it('shrinks the stored bytes (ratio printed)', () => {
    const ratio = storedAfter / storedBefore
    console.log(
      `compaction: ${storedBefore} -> ${storedAfter} bytes stored (ratio ${ratio.toFixed(3)}); ` +
        `reports ${reports.map((r) => `${r.before.bytes}->${r.after.bytes} bytes, ${r.before.events}->${r.after.events} events`).join('; ')}`,
    )
    expect(ratio).toBeLessThan(1)
    expect(reports[2]!.after.bytes).toBe(storedAfter)
    expect(reports[2]!.after.events).toBeLessThan(reports[2]!.before.events)
  })

  it('gives a reader from -1 the same state as the uncompacted stream (terminal within its budget)', async () => {
    const want = withinBudget(view(new Reader().apply((await readStream(h, reference)).events), h.clock.t))
    const got = view(new Reader().apply((await readStream(h, compacted)).events), h.clock.t)
    expect(got.messages).toHaveLength(40)
    expect(got.messages.every((m) => m.done && !m.gap)).toBe(true)
    expect(got).toEqual(want)
  })

  it('gives readers resuming from each recorded offset the same state as the uncompacted stream', async () => {
    const full = view(new Reader().apply((await readStream(h, reference)).events), h.clock.t)
    const want = withinBudget(full)
    for (const r of readers) {
      const rest = await readStream(h, compacted, r.offset)
      const got = view(new Reader().apply(r.seen).apply(rest.events), h.clock.t)
      // Messages, tool calls, agent state and who is here match exactly; a reader that read lines
      // before they were dropped may hold more scroll-back, but never a different line.
      expect({ label: r.label, messages: got.messages }).toEqual({ label: r.label, messages: want.messages })
      expect(got.toolCalls).toEqual(want.toolCalls)
      expect(got.agentState).toEqual(want.agentState)
      expect(got.here).toEqual(want.here)
      for (const kind of ['outputs', 'inputs', 'exits'] as const) {
        expect(got[kind].slice(-want[kind].length)).toEqual(want[kind])
        const fullIds = new Set(full[kind].map((l) => l.id))
        expect(got[kind].every((l) => fullIds.has(l.id))).toBe(true)
      }
    }
  })

  it('keeps the live tail: a long-poll from the tail after compaction gets the next write', async () => {
    const { next } = await readStream(h, compacted)
    const poll = h.request(`/api/streams/sessions/${compacted}?offset=${encodeURIComponent(next)}&live=long-poll`, { token: h.adminToken })
    const worker = await h.app.issueToken({ role: 'worker', sessionId: compacted, subject: 'agent-1' })
    await write(h, compacted, { channel: 'terminal', data: { id: 'late', kind: 'output', source: 'agent-1', stream: 'stdout', data: 'late\r\n' } }, worker)
    const res = await poll
    expect(res.status).toBe(200)
    const events = (await res.json()) as Event[]
    expect(events.map((e) => e.key)).toEqual(['late'])
  })

  it('refuses compaction to viewers, share links, collaborators, workers and other sessions\' admins', async () => {
    const tokens = {
      viewer: await h.app.issueToken({ role: 'viewer', sessionId: compacted, subject: 'x-viewer' }),
      share: await h.app.issueToken({ role: 'collaborator', sessionId: compacted }),
      collaborator: await h.app.issueToken({ role: 'collaborator', sessionId: compacted, subject: 'u-ann' }),
      worker: await h.app.issueToken({ role: 'worker', sessionId: compacted, subject: 'agent-1' }),
      otherAdmin: await h.app.issueToken({ role: 'admin', sessionId: reference, subject: 'admin-2' }),
    }
    for (const [who, token] of Object.entries(tokens)) {
      const res = await h.request(`/api/sessions/${compacted}/compact`, { method: 'POST', token })
      expect(res.status, who).toBe(403)
    }
    expect((await h.request(`/api/sessions/${compacted}/compact`, { method: 'POST', token: null })).status).toBe(401)
    expect((await h.request(`/api/sessions/${compacted}/compact`, { token: h.adminToken })).status).toBe(405)
    expect((await h.request('/api/sessions/no-such-session/compact', { method: 'POST', token: h.adminToken })).status).toBe(404)
  })
})

describe('session fold over a compacted stream (builtin streams)', () => {
  it('rebuilds the same usage and message authorship after a restart', async () => {
    const h = await startHarness('builtin', { sessions: { compaction: { chunkGraceMs: 0 } } })
    try {
      const sids = [await createSession(h), await createSession(h)]
      for (const sid of sids) {
        const ann = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
        const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
        for (let seq = 0; seq < 3; seq++) {
          await write(h, sid, { channel: 'chunk', data: { messageId: 'q', role: 'user', author: 'u-ann', turn: 0, seq, delta: `q${seq}`, done: seq === 2 } }, ann)
        }
        for (let seq = 0; seq < 5; seq++) {
          await write(h, sid, { channel: 'chunk', data: { messageId: 'a', role: 'assistant', author: 'agent-1', turn: 1, seq, delta: `a${seq}`, done: seq === 4 } }, worker)
          const state = { agentId: 'agent-1', status: seq === 4 ? 'idle' : 'thinking', tokensIn: 10 * seq, tokensOut: seq, costUsd: seq / 100, turns: seq === 4 ? 1 : 0 }
          await write(h, sid, { channel: 'agent-state', data: state }, worker)
        }
      }
      h.clock.advance(1)
      const res = await h.request(`/api/sessions/${sids[0]}/compact`, { method: 'POST', token: h.adminToken })
      expect(((await res.json()) as { after: { events: number } }).after.events).toBeLessThan(18)
      await h.restart()
      const usage = async (sid: string) =>
        ((await (await h.request(`/api/sessions/${sid}`, { token: h.adminToken })).json()) as { session: { usage: unknown } }).session.usage
      expect(await usage(sids[0]!)).toMatchObject({ tokensIn: 40, tokensOut: 4, turns: 1 })
      expect(await usage(sids[0]!)).toEqual(await usage(sids[1]!))
      // The folded user message is still Ann's: Bob may not continue it.
      const bob = await h.app.issueToken({ role: 'collaborator', sessionId: sids[0]!, subject: 'u-bob' })
      const forged = await h.request(`/api/streams?sessionId=${sids[0]}`, {
        token: bob,
        json: { channel: 'chunk', data: { messageId: 'q', role: 'user', author: 'u-bob', turn: 0, seq: 3, delta: 'mine now', done: true } },
      })
      expect(forged.status).toBe(403)
    } finally {
      await h.close()
    }
  })
})

describe.skipIf(!BACKENDS.includes('external'))('session stream compaction (external streams)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness('external')
  }, 60_000)
  afterAll(async () => {
    await h?.close()
  })

  it('answers 501 with the reason: only the built-in store can compact', async () => {
    const sid = await createSession(h)
    const res = await h.request(`/api/sessions/${sid}/compact`, { method: 'POST', token: h.adminToken })
    expect(res.status).toBe(501)
    expect(JSON.stringify(await res.json())).toMatch(/built-in streams store/)
    expect(h.app.compaction.available).toBe(false)
    expect(h.logs.some((l) => l.includes('compaction needs the built-in streams store'))).toBe(true)
  })
})
