/**
 * Turns you can see (issue #10), the server's half: every completed user message of a session
 * with an agent gets an `accepted` turn record right after it, on every write path, before any
 * worker could answer (same atomic append on the writer path), for a sleeping (idle hybrid)
 * session too, and only once however often the message is retried.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

const MIN = 60_000

function envelope(input: unknown): SessionEvent {
  const built = buildSessionEvent(input)
  if (!built.ok) throw new Error(`${built.field}: ${built.message}`)
  return built.value
}

const userChunk = (messageId: string, author = 'admin-user', extra: Record<string, unknown> = {}) => ({
  channel: 'chunk',
  data: { messageId, role: 'user', author, turn: 0, seq: 0, delta: 'hi', done: true, ...extra },
})

// biome-ignore lint/suspicious/noExplicitAny: test reads loose JSON
type Loose = Record<string, any>
const turnRecords = (events: Loose[]) => events.filter((e) => e.type === 'agent-state' && e.value?.kind === 'turn')

describe.each(BACKENDS)('accepted turn records (%s streams)', (backend) => {
  let h: Harness
  let releaseResume: () => void = () => {}
  let resumeBlocked = false
  beforeAll(async () => {
    h = await startHarness(backend, {
      workers: {
        // A worker start that takes its time: the accepted record must not wait for it.
        onSessionResumed: () => (resumeBlocked ? new Promise<void>((r) => (releaseResume = r)) : undefined),
      },
    })
  })
  afterAll(() => h.close())

  it('POST /messages: the accepted record directly follows the message, numbered like the worker counts', async () => {
    const sid = await createSession(h, { agent: { model: 'echo' } })
    const first = (await (await h.request(`/api/sessions/${sid}/messages`, { token: h.adminToken, json: { text: 'one' } })).json()) as Loose
    await h.request(`/api/sessions/${sid}/messages`, { token: h.adminToken, json: { text: 'two' } })
    const { events } = await readStream(h, sid)
    expect(events.map((e) => `${e.type}:${e.value?.kind ?? e.value?.role}`)).toEqual([
      'chunk:user',
      'agent-state:turn',
      'chunk:user',
      'agent-state:turn',
    ])
    expect(events[1]).toMatchObject({
      key: `turn:${first.messageId}`,
      headers: { operation: 'upsert', eventId: `turn:${first.messageId}:accepted` },
      value: { kind: 'turn', messageId: first.messageId, turn: 1, status: 'accepted' },
    })
    expect(events[1].value.agentId).toBeUndefined()
    expect(events[3].value.turn).toBe(2)
    // The answer's offset already covers the record: it was written before the writer answered.
    expect((await readStream(h, sid, first.offset)).events.map((e) => e.type)).toEqual(['chunk', 'agent-state'])
  })

  it('a retried message (same messageId / event) makes no second record, on both writer endpoints', async () => {
    const sid = await createSession(h, { agent: { model: 'echo' } })
    for (let i = 0; i < 2; i++) {
      await h.request(`/api/sessions/${sid}/messages`, { token: h.adminToken, json: { text: 'again', messageId: 'm-retry' } })
      await write(h, sid, userChunk('m-retry-2'))
    }
    const records = turnRecords((await readStream(h, sid)).events)
    expect(records.map((e) => e.key)).toEqual(['turn:m-retry', 'turn:m-retry-2'])
  })

  it('a collaborator raw append (protocol gate) gets its accepted record too, right after', async () => {
    const sid = await createSession(h, { agent: { model: 'echo' } })
    const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
    const res = await h.request(`/api/streams/sessions/${sid}`, { token: collab, json: [envelope(userChunk('m-raw', 'u1'))] })
    expect(res.status).toBeLessThan(300)
    // The gate hands the append to the manager before answering; the record lands right after.
    await h.app.manager.logs.fold(sid)
    const { events } = await readStream(h, sid)
    expect(events.map((e) => e.key)).toEqual(['m-raw:0', 'turn:m-raw'])
    expect(events[1].value).toMatchObject({ status: 'accepted', turn: 1, messageId: 'm-raw' })
  })

  it('is written for an idle (suspended) hybrid session before its worker is started again', async () => {
    const sid = await createSession(h, { pattern: 'hybrid', agent: { model: 'echo' }, limits: { maxIdleTimeMs: 10 * MIN } })
    h.clock.advance(11 * MIN)
    await h.app.monitor.tick()
    expect((await (await h.request(`/api/sessions/${sid}`, { token: h.adminToken })).json()).session.status).toBe('idle')
    resumeBlocked = true
    const posting = h.request(`/api/sessions/${sid}/messages`, { token: h.adminToken, json: { text: 'wake up', messageId: 'm-wake' } })
    // While the resume (worker start) is still pending, the record is already in the stream.
    let records: Loose[] = []
    for (let i = 0; i < 200 && records.length === 0; i++) {
      records = turnRecords((await readStream(h, sid)).events)
      if (records.length === 0) await new Promise((r) => setTimeout(r, 10))
    }
    expect(records.map((e) => e.value.status)).toEqual(['accepted'])
    resumeBlocked = false
    releaseResume()
    expect((await posting).status).toBe(201)
  })

  it('no record for a session without an agent (nobody would answer), nor for unfinished or agent messages', async () => {
    const bare = await createSession(h)
    await write(h, bare, userChunk('m-bare'))
    expect(turnRecords((await readStream(h, bare)).events)).toEqual([])
    const sid = await createSession(h, { agent: { model: 'echo' } })
    await write(h, sid, userChunk('m-part', 'admin-user', { done: false }))
    await write(h, sid, { channel: 'chunk', data: { messageId: 'a1', role: 'assistant', author: 'agent-1', turn: 1, seq: 0, delta: 'x', done: true } })
    expect(turnRecords((await readStream(h, sid)).events)).toEqual([])
  })
})
