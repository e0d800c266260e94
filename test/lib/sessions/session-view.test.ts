/**
 * GET /api/sessions/:id/view (issue #10, the long session's page opens from the newest part): for
 * a session that was compacted and written to again, the view's messages, turns and terminal
 * window equal a full replay's; older pages put together give every message of the replay; the
 * view stays current after further writes; bad queries get a 4xx with the reason.
 * Real SQLite file, real HTTP on loopback, events written through the writer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentStateEntry, Chunk, TerminalLine, ToolCall } from '../../../src/lib/sessions/channel-schemas'
import { deriveMessages, windowStart, type RowMeta } from '../../../src/lib/sessions/client/derive'
import { deriveTurns } from '../../../src/lib/sessions/client/turns'
import { HEAD_TERMINAL_WINDOW } from '../../../src/lib/sessions/session-view'
import { createSession, readStream, startHarness, write, type Harness } from './harness'

// biome-ignore lint/suspicious/noExplicitAny: events are loose JSON read back from the stream
type Event = Record<string, any>
interface ViewAnswer {
  offset: string
  events: Event[]
  olderBefore: string | null
  terminalBefore: string | null
}

/** A State Protocol reader as StreamDB is one: last write wins per type+key, `_seq` stamped on every write. */
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

const shown = (r: Reader) =>
  deriveMessages(r.values<Chunk>('chunk'), r.values<ToolCall>('tool-call')).map((m) => ({
    id: m.id,
    role: m.role,
    author: m.author,
    turn: m.turn,
    text: m.text,
    done: m.done,
    gap: m.gap,
    startedAt: m.startedAt,
    toolCalls: m.toolCalls.map((c) => `${c.id}:${c.status}`),
  }))
const terminalOf = (r: Reader) =>
  r
    .values<TerminalLine>('terminal')
    .sort((a, b) => (a._seq ?? 0) - (b._seq ?? 0))
    .map(({ _seq, ...line }) => line)

describe('GET /api/sessions/:id/view', () => {
  let h: Harness
  let sid: string
  const view = async (query = '', token = h.adminToken) => {
    const res = await h.request(`/api/sessions/${sid}/view${query}`, { token })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as ViewAnswer
  }
  const replay = async () => new Reader().apply((await readStream(h, sid)).events)

  beforeAll(async () => {
    h = await startHarness('builtin', { sessions: { compaction: { chunkGraceMs: 1000, intervalMs: 0 } } })
    sid = await createSession(h)
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const user = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
    await write(h, sid, { channel: 'terminal', data: { id: 'size-0', kind: 'resize', source: 'u-ann', cols: 100, rows: 30 } }, user)
    const turn = async (t: number, finish: boolean) => {
      await write(h, sid, { channel: 'chunk', data: { messageId: `q${t}`, role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: `question ${t}`, done: true } }, user)
      const messageId = `a${t}`
      const events: unknown[] = []
      for (let seq = 0; seq < 4; seq++) {
        events.push({ channel: 'chunk', data: { messageId, role: 'assistant', author: 'agent-1', turn: t, seq, delta: `t${t}w${seq} `, done: finish && seq === 3 } })
      }
      if (t % 3 === 0) {
        events.push({ channel: 'tool-call', data: { id: `${messageId}:c0`, messageId, agentId: 'agent-1', name: 'bash', input: { n: t }, status: 'running' } })
        events.push({ channel: 'tool-call', data: { id: `${messageId}:c0`, messageId, agentId: 'agent-1', name: 'bash', input: { n: t }, status: 'succeeded' } })
      }
      const status = finish ? 'done' : 'streaming'
      events.push({ channel: 'agent-state', data: { id: `turn:q${t}`, kind: 'turn', messageId: `q${t}`, turn: t, agentId: 'agent-1', status, acceptedAt: t } })
      await write(h, sid, events, worker)
      // 60 output rows per turn: 100 turns hold more than the pane's 5,000-row window.
      const input = `in-${t}`
      await write(h, sid, { channel: 'terminal', data: { id: input, kind: 'input', source: 'u-ann', data: `seq ${t}` } }, user)
      await write(
        h,
        sid,
        [
          { channel: 'terminal', data: { id: `${input}:o`, kind: 'output', source: 'agent-1', stream: 'stdout', data: `${t}\r\n`.repeat(60), commandId: input } },
          { channel: 'terminal', data: { id: `${input}:x`, kind: 'exit', source: 'agent-1', exitCode: 0, commandId: input } },
        ],
        worker,
      )
    }
    // Turn 2's answer never finishes (it must be in every head); the rest do, except the last.
    for (let t = 1; t <= 60; t++) await turn(t, t !== 2)
    h.clock.advance(5_000)
    const res = await h.request(`/api/sessions/${sid}/compact`, { method: 'POST', token: h.adminToken })
    expect(res.status).toBe(200)
    for (let t = 61; t <= 100; t++) await turn(t, t !== 100)
  }, 240_000)

  afterAll(async () => {
    await h?.close()
  })

  it('answers the newest messages (and every unfinished one) as a full replay shows them, with their turns', async () => {
    const full = await replay()
    const got = new Reader().apply((await view('?limit=20')).events)
    const all = shown(full)
    const newest = all.slice(-20)
    const want = all.filter((m) => newest.includes(m) || !m.done)
    expect(want.some((m) => m.id === 'a2')).toBe(true)
    expect(shown(got)).toEqual(want)
    // Turns: those of the messages shown, and the current one (what Stop acts on) as a replay has it.
    const fullTurns = deriveTurns(full.values<AgentStateEntry>('agent-state'))
    const gotTurns = deriveTurns(got.values<AgentStateEntry>('agent-state'))
    expect(fullTurns.current?.messageId).toBe('q100')
    expect(gotTurns.current).toEqual(fullTurns.current)
    const wantTurns = new Map([...fullTurns.byMessage].filter(([id, t]) => want.some((m) => m.id === id) || t === fullTurns.current))
    expect(gotTurns.byMessage).toEqual(wantTurns)
    expect(wantTurns.size).toBeGreaterThan(5)
    // Agent state other than turns is whole; nothing of older messages comes along.
    expect(got.values('chunk').every((c) => want.some((m) => m.id === (c as Chunk).messageId))).toBe(true)
  })

  it('answers the newest terminal rows and the pty size before them, earlier windows (the pane rule) on request', async () => {
    const lines = terminalOf(await replay())
    const answer = await view()
    const got = terminalOf(new Reader().apply(answer.events))
    const start = windowStart(lines, lines.length, HEAD_TERMINAL_WINDOW)
    expect(start).toBeGreaterThan(0)
    expect(got).toEqual([lines.find((l) => l.kind === 'resize'), ...lines.slice(start)])
    expect(answer.terminalBefore).toBe(lines[start]!.id)
    const earlier = await view(`?terminalBefore=${encodeURIComponent(answer.terminalBefore!)}`)
    expect(terminalOf(new Reader().apply(earlier.events))).toEqual(lines.slice(windowStart(lines, start), start))
  })

  it('pages older messages back to the first: head and pages together equal the replay', async () => {
    const all = shown(await replay())
    const head = await view('?limit=25')
    const pages: ReturnType<typeof shown>[] = []
    let before = head.olderBefore
    while (before) {
      const page = await view(`?limit=25&before=${encodeURIComponent(before)}`)
      pages.unshift(shown(new Reader().apply(page.events)))
      before = page.olderBefore
    }
    const headMessages = shown(new Reader().apply(head.events))
    const older = pages.flat()
    // Unfinished messages come with the head only.
    expect(older.every((m) => m.done)).toBe(true)
    const merged = [...older, ...headMessages.filter((m) => !older.some((o) => o.id === m.id))]
    merged.sort((a, b) => all.findIndex((m) => m.id === a.id) - all.findIndex((m) => m.id === b.id))
    expect(merged).toEqual(all)
    expect(pages.length).toBeGreaterThan(2)
  })

  it('stays current: a write after a view is in the next one, at the new offset', async () => {
    const first = await view('?limit=5')
    const user = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
    const written = await write(h, sid, { channel: 'chunk', data: { messageId: 'late', role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: 'late one', done: true } }, user)
    const second = await view('?limit=5')
    expect(second.offset).toBe(written.offset)
    expect(second.offset > first.offset).toBe(true)
    expect(shown(new Reader().apply(second.events)).at(-1)?.text).toBe('late one')
  })

  it('answers every role that may read the stream (viewer, share link, collaborator, worker, admin); refuses other sessions and no token', async () => {
    const other = await createSession(h)
    const allowed = [
      await h.app.issueToken({ role: 'viewer', sessionId: sid }),
      await h.app.issueToken({ role: 'collaborator', sessionId: sid }),
      await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' }),
      await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' }),
      await h.app.issueToken({ role: 'admin', sessionId: sid, subject: 'session-admin' }),
      h.adminToken,
    ]
    for (const token of allowed) expect((await view('?limit=1', token)).events.length).toBeGreaterThan(0)
    for (const role of ['viewer', 'collaborator', 'worker', 'admin'] as const) {
      const token = await h.app.issueToken({ role, sessionId: other, subject: 'someone' })
      const res = await h.request(`/api/sessions/${sid}/view`, { token })
      expect(res.status, role).toBe(403)
    }
    expect((await h.request(`/api/sessions/${sid}/view`, { token: null })).status).toBe(401)
  })

  it('refuses bad queries with the reason', async () => {
    for (const [query, status, reason] of [
      ['?limit=0', 400, /limit/],
      ['?limit=abc', 400, /limit/],
      ['?limit=1001', 400, /limit/],
      ['?before=nope', 404, /no message nope/],
      ['?terminalBefore=nope', 404, /no terminal line nope/],
      ['?before=a1&terminalBefore=in-1', 400, /not both/],
    ] as const) {
      const res = await h.request(`/api/sessions/${sid}/view${query}`, { token: h.adminToken })
      expect(res.status, query).toBe(status)
      expect(await res.text()).toMatch(reason)
    }
    const post = await h.request(`/api/sessions/${sid}/view`, { method: 'POST', token: h.adminToken, json: {} })
    expect(post.status).toBe(405)
    const unknown = await h.request('/api/sessions/nope/view', { token: h.adminToken })
    expect(unknown.status).toBe(404)
  })
})
