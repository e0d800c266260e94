/**
 * Bar 2: a mixed stream of all five channels, read back with @durable-streams/state (StreamDB
 * collections from offset -1, MaterializedState from a mid-stream offset), gives the same state
 * after the server restarts.
 */
import { stream } from '@durable-streams/client'
import { MaterializedState, isChangeEvent, type StateEvent } from '@durable-streams/state'
import { createStreamDB } from '@durable-streams/state/db'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sessionStateSchema, type Chunk } from '../../../src/lib/sessions/channel-schemas'
import { BACKENDS, createSession, startHarness, write, type Harness } from './harness'

type Rows = Record<string, Record<string, unknown>[]>

/** The chunks of each message joined in seq order (what the UI's deriveMessages shows as text). */
function messagesFromChunks(chunks: Chunk[]): Array<{ id: string; role: Chunk['role']; text: string; done: boolean }> {
  const byId = new Map<string, Chunk[]>()
  for (const c of chunks) byId.set(c.messageId, [...(byId.get(c.messageId) ?? []), c])
  return [...byId].map(([id, parts]) => {
    parts.sort((a, b) => a.seq - b.seq)
    return { id, role: parts[0].role, text: parts.map((p) => p.delta).join(''), done: parts.some((p) => p.done) }
  })
}

/** All five collections via StreamDB, from offset -1, as plain sorted rows. */
async function viaStreamDB(h: Harness, sid: string): Promise<Rows> {
  const db = createStreamDB({
    streamOptions: {
      url: `${h.url}/api/streams/sessions/${sid}`,
      headers: { authorization: `Bearer ${h.adminToken}` },
      contentType: 'application/json',
    },
    state: sessionStateSchema,
    live: false,
  })
  await db.preload()
  const rows: Rows = {}
  for (const [name, collection] of Object.entries(db.collections)) {
    rows[name] = [...collection.values()]
      // Drop StreamDB's bookkeeping (_seq, $collectionId with the server's port, $synced, …).
      .map((row) =>
        Object.fromEntries(Object.entries(row as Record<string, unknown>).filter(([k]) => !k.startsWith('_') && !k.startsWith('$'))),
      )
      .sort((a, b) => String(a.id).localeCompare(String(b.id)))
  }
  db.close()
  return rows
}

/** MaterializedState from `offset` (catch-up only), as type -> key -> value. */
async function viaMaterializedState(h: Harness, sid: string, offset: string): Promise<Record<string, Record<string, unknown>>> {
  const res = await stream<StateEvent>({
    url: `${h.url}/api/streams/sessions/${sid}`,
    params: { token: h.adminToken },
    offset,
    live: false,
  })
  const events = await res.json()
  const state = new MaterializedState()
  for (const e of events) if (isChangeEvent(e)) state.apply(e)
  const out: Record<string, Record<string, unknown>> = {}
  for (const type of state.types.sort())
    out[type] = Object.fromEntries([...state.getType(type).entries()].sort(([a], [b]) => a.localeCompare(b)))
  return out
}

describe.each(BACKENDS)('materialized session state across a restart (%s streams)', (backend) => {
  let h: Harness
  let sid: string
  let midOffset: string
  let beforeFull: Rows
  let beforeMid: Record<string, Record<string, unknown>>

  beforeAll(async () => {
    h = await startHarness(backend)
    sid = await createSession(h)
    const user = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const t = (ms: number) => h.clock.t + ms
    // The one tool call of the session, at its successive states.
    const toolCall = (state: Record<string, unknown>) => ({
      channel: 'tool-call',
      data: { id: 'tc-1', messageId: 'm-agent', agentId: 'agent-1', name: 'bash', input: { cmd: 'ls' }, ...state },
    })

    // 1: a person arrives and asks; the agent starts
    await write(
      h,
      sid,
      [
        {
          channel: 'presence',
          data: { userId: 'u-ann', displayName: 'Ann', color: '#ff0000', status: 'active', cursor: { x: 1, y: 2 }, focusedPane: 'chat' },
        },
        {
          channel: 'chunk',
          data: {
            messageId: 'm-user',
            role: 'user',
            author: 'u-ann',
            turn: 0,
            seq: 0,
            delta: 'list the files',
            done: true,
            timestamp: t(1),
          },
        },
      ],
      user,
    )
    await write(
      h,
      sid,
      [{ channel: 'presence', data: { userId: 'u-bob', displayName: 'Bob', color: '#0000ff', status: 'idle' } }],
      await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-bob' }),
    )
    await write(
      h,
      sid,
      [
        {
          channel: 'agent-state',
          data: {
            agentId: 'agent-1',
            status: 'thinking',
            model: 'echo',
            currentStep: 'planning',
            tokensIn: 10,
            tokensOut: 0,
            costUsd: 0.001,
            turns: 0,
          },
        },
        {
          channel: 'chunk',
          data: { messageId: 'm-agent', role: 'assistant', author: 'agent-1', turn: 1, seq: 0, delta: 'Let me ', timestamp: t(2) },
        },
      ],
      worker,
    )
    // 2: the agent streams, runs a tool, the terminal shows it
    const mid = await write(
      h,
      sid,
      [
        {
          channel: 'chunk',
          data: { messageId: 'm-agent', role: 'assistant', author: 'agent-1', turn: 1, seq: 1, delta: 'look.', timestamp: t(3) },
        },
        toolCall({ status: 'pending' }),
      ],
      worker,
    )
    midOffset = mid.offset
    await write(
      h,
      sid,
      [
        toolCall({ status: 'running', startedAt: t(4) }),
        { channel: 'terminal', data: { id: 'line-in', kind: 'input', source: 'u-ann', data: 'ls' } },
      ],
      h.adminToken,
    )
    await write(
      h,
      sid,
      [
        {
          channel: 'terminal',
          data: { id: 'line-out', kind: 'output', source: 'agent-1', stream: 'stdout', data: 'a.txt\nb.txt\n', commandId: 'line-in' },
        },
        { channel: 'terminal', data: { id: 'line-exit', kind: 'exit', source: 'agent-1', exitCode: 0, commandId: 'line-in' } },
        toolCall({ status: 'succeeded', output: { files: ['a.txt', 'b.txt'] }, startedAt: t(4), endedAt: t(5) }),
        {
          channel: 'chunk',
          data: {
            messageId: 'm-agent',
            role: 'assistant',
            author: 'agent-1',
            turn: 1,
            seq: 2,
            delta: ' Two files.',
            done: true,
            timestamp: t(6),
          },
        },
        {
          channel: 'agent-state',
          data: {
            agentId: 'agent-1',
            status: 'idle',
            model: 'echo',
            currentStep: null,
            tokensIn: 120,
            tokensOut: 45,
            costUsd: 0.0123,
            turns: 1,
          },
        },
      ],
      worker,
    )
    // 3: Bob leaves, Ann asks to cancel, Ann's presence updates
    await write(h, sid, { channel: 'presence', operation: 'delete', data: { userId: 'u-bob' } }, h.adminToken)
    await write(
      h,
      sid,
      [
        { channel: 'agent-state', data: { id: 'control:c1', kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'u-ann' } },
        {
          channel: 'presence',
          data: { userId: 'u-ann', displayName: 'Ann', color: '#ff0000', status: 'away', cursor: null, focusedPane: 'terminal' },
        },
      ],
      user,
    )

    beforeFull = await viaStreamDB(h, sid)
    beforeMid = await viaMaterializedState(h, sid, midOffset)
    await h.restart()
  })
  afterAll(() => h.close())

  it('StreamDB from offset -1 gives the same collections after the restart', async () => {
    const after = await viaStreamDB(h, sid)
    expect(after).toEqual(beforeFull)
  })

  it('the collections hold what was written: messages, tool calls, terminal lines, presence, agent state', () => {
    const messages = messagesFromChunks(beforeFull.chunks as unknown as Chunk[])
    expect(messages.map((m) => [m.id, m.role, m.text, m.done])).toEqual([
      ['m-agent', 'assistant', 'Let me look. Two files.', true],
      ['m-user', 'user', 'list the files', true],
    ])
    expect(beforeFull.toolCalls).toEqual([
      expect.objectContaining({ id: 'tc-1', status: 'succeeded', output: { files: ['a.txt', 'b.txt'] } }),
    ])
    expect(beforeFull.terminal.map((l) => [l.id, l.kind])).toEqual([
      ['line-exit', 'exit'],
      ['line-in', 'input'],
      ['line-out', 'output'],
    ])
    expect(beforeFull.terminal.find((l) => l.id === 'line-out')).toMatchObject({ commandId: 'line-in', stream: 'stdout' })
    expect(beforeFull.presence).toEqual([expect.objectContaining({ id: 'u-ann', status: 'away', cursor: null, focusedPane: 'terminal' })])
    expect(beforeFull.agentState).toEqual([
      expect.objectContaining({ id: 'agent-1', kind: 'state', status: 'idle', tokensIn: 120, tokensOut: 45, costUsd: 0.0123, turns: 1 }),
      expect.objectContaining({ id: 'control:c1', kind: 'control', action: 'cancel', requestedBy: 'u-ann' }),
    ])
  })

  it('MaterializedState from a mid-stream offset gives the same state after the restart, holding only later events', async () => {
    const after = await viaMaterializedState(h, sid, midOffset)
    expect(after).toEqual(beforeMid)
    // Only what came after the offset: the last chunk, not the first two; no presence inserts before it.
    expect(Object.keys(after.chunk)).toEqual(['m-agent:2'])
    expect(after['tool-call']['tc-1']).toMatchObject({ status: 'succeeded' })
    expect(Object.keys(after.terminal).sort()).toEqual(['line-exit', 'line-in', 'line-out'])
    expect(Object.keys(after.presence)).toEqual(['u-ann'])
    expect(Object.keys(after['agent-state']).sort()).toEqual(['agent-1', 'control:c1'])
  })

  it('usage folded from the stream is the same after the restart', async () => {
    const res = await h.request(`/api/sessions/${sid}`, { token: h.adminToken })
    const { session } = (await res.json()) as { session: { usage: Record<string, number> } }
    expect(session.usage).toMatchObject({ tokensIn: 120, tokensOut: 45, costUsd: 0.0123, turns: 1 })
  })
})
