/**
 * Session view checkpoints through the app (issue 10, the snapshot cache; session-views.ts): after
 * a restart the first GET /api/sessions/:id/view of a long session opens from its checkpoint and
 * reads only what came after it, and answers exactly what a full replay gives; older pages read
 * the stream once; the monitor checkpoints a live session nobody opened; a write into a message the
 * checkpoint left out makes the server read the whole stream rather than answer wrong.
 * Real SQLite file, real HTTP on loopback, both streams backends (built-in and the reference server).
 */
import { afterEach, describe, expect, it } from 'vitest'
import { CHECKPOINT_MESSAGES, SessionViewState } from '../../../src/lib/sessions/session-view'
import { CHECKPOINT_EVERY } from '../../../src/lib/sessions/session-views'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

interface ViewAnswer {
  offset: string
  events: unknown[]
  olderBefore: string | null
  terminalBefore: string | null
}

/** Turns of 8 events each: a user message, an answer of 4 chunks, its turn record, terminal lines. */
async function fill(h: Harness, sid: string, from: number, to: number): Promise<void> {
  const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
  const user = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
  for (let start = from; start <= to; start += 20) {
    const turns = Array.from({ length: Math.min(20, to - start + 1) }, (_, i) => start + i)
    await write(h, sid, turns.map((t) => ({ channel: 'chunk', data: { messageId: `q${t}`, role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: `question ${t}`, done: true } })), user)
    const events: unknown[] = []
    for (const t of turns) {
      for (let seq = 0; seq < 4; seq++)
        events.push({ channel: 'chunk', data: { messageId: `a${t}`, role: 'assistant', author: 'agent-1', turn: t, seq, delta: `t${t}w${seq} `, done: seq === 3 } })
      events.push({ channel: 'agent-state', data: { id: `turn:q${t}`, kind: 'turn', messageId: `q${t}`, turn: t, agentId: 'agent-1', status: 'done', acceptedAt: t } })
      events.push({ channel: 'terminal', data: { id: `out-${t}`, kind: 'output', source: 'agent-1', stream: 'stdout', data: `${t}\r\n`.repeat(8) } })
      events.push({ channel: 'terminal', data: { id: `out-${t}b`, kind: 'output', source: 'agent-1', stream: 'stdout', data: `${t} done\r\n` } })
    }
    await write(h, sid, events, worker)
  }
}

describe.each(BACKENDS)('session view checkpoints (%s streams)', (backend) => {
  let h: Harness
  afterEach(async () => {
    await h?.close()
  })

  const view = async (sid: string, query = '') => {
    const res = await h.request(`/api/sessions/${sid}/view${query}`, { token: h.adminToken })
    expect(res.status, await res.clone().text()).toBe(200)
    return (await res.json()) as ViewAnswer
  }
  /** What a view fed the whole stream answers. */
  const replayed = async (sid: string) => {
    const read = await readStream(h, sid)
    const state = new SessionViewState()
    state.apply(read.events, read.next)
    return state
  }
  const saved = async (n: number) => {
    for (let i = 0; i < 200 && h.app.views.counts.checkpointsSaved < n; i++) await new Promise((r) => setTimeout(r, 25))
    expect(h.app.views.counts.checkpointsSaved).toBeGreaterThanOrEqual(n)
  }

  it('after a restart opens a long session from its checkpoint, reads only what came after, and answers as a full replay', async () => {
    h = await startHarness(backend)
    const sid = await createSession(h)
    await fill(h, sid, 1, 260) // 260 turns, 2,080 events
    const before = await view(sid)
    expect(h.app.views.counts).toMatchObject({ fullReads: 1, fromCheckpoint: 0 })
    await saved(1)
    await fill(h, sid, 261, 280)
    await h.restart()

    const after = await view(sid)
    expect(h.app.views.counts).toMatchObject({ fullReads: 0, fromCheckpoint: 1 })
    const full = await replayed(sid)
    expect(after).toEqual({ offset: full.offset, ...full.head() })
    expect(after.events).not.toEqual(before.events)
    expect(after.olderBefore).toBe('q181')
    expect(after.terminalBefore).not.toBeNull()
    // Fewer messages from the same view; an older page needs the whole stream, read once.
    expect(await view(sid, '?limit=30')).toEqual({ offset: full.offset, ...full.head(30) })
    expect(h.app.views.counts.fullReads).toBe(0)
    const older = await view(sid, `?before=${after.olderBefore}`)
    expect(older).toEqual({ offset: full.offset, ...full.older(after.olderBefore as string) })
    expect(h.app.views.counts.fullReads).toBe(1)
    expect(await view(sid, `?limit=${CHECKPOINT_MESSAGES + 1}`)).toEqual({ offset: full.offset, ...full.head(CHECKPOINT_MESSAGES + 1) })
    expect(h.app.views.counts.fullReads).toBe(1)
  }, 120_000)

  it('the monitor checkpoints a live session nobody opened; a write into a message left out makes the view read the whole stream', async () => {
    h = await startHarness(backend)
    const sid = await createSession(h)
    await fill(h, sid, 1, 260)
    await h.app.monitor.tick()
    expect(h.app.views.counts).toMatchObject({ fullReads: 1, checkpointsSaved: 1 })
    // Under CHECKPOINT_EVERY new events: the next tick leaves the checkpoint as it is.
    await fill(h, sid, 261, 270)
    await h.app.monitor.tick()
    expect(h.app.views.counts.checkpointsSaved).toBe(1)
    expect(CHECKPOINT_EVERY).toBeGreaterThan(100)
    await h.restart()
    // After a restart the monitor reads the checkpoint and what came after; little did: not saved again.
    await h.app.monitor.tick()
    expect(h.app.views.counts).toMatchObject({ fromCheckpoint: 1, fullReads: 0, checkpointsSaved: 0 })

    // A late chunk of an old answer the checkpoint left out.
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    await write(h, sid, { channel: 'chunk', data: { messageId: 'a3', role: 'assistant', author: 'agent-1', turn: 3, seq: 4, delta: 'late', done: false } }, worker)
    const answer = await view(sid)
    expect(h.app.views.counts).toMatchObject({ fromCheckpoint: 2, fullReads: 1 })
    const full = await replayed(sid)
    expect(answer).toEqual({ offset: full.offset, ...full.head() })
  }, 120_000)
})
