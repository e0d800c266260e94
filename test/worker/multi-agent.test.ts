/**
 * Several agents in one session (issue #15), end to end: the real app over HTTP on loopback, the
 * process runtime, real worker processes and the echo model. A single-container session's three
 * agents run in one worker process; a mention is answered by that agent only, an unaddressed
 * message by the default agent; an agent that mentions another hands off to it (its turn record
 * says from whom and how deep), two agents that keep handing off stop at the session's cap with
 * the reason in the log; and a SIGKILLed worker resumes every agent without losing or repeating
 * an event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  agentStateOf as stateOf,
  chunkGaps,
  duplicateImmutableEvents,
  ofType,
  startWorkerHarness,
  turnRecordOf as turnRecord,
  type Event,
  type WorkerHarness,
} from '../lib/workers/harness'

const CAP = 3

/** The text of one assistant message, from its chunks (seq order). */
function messageText(events: Event[], messageId: string): string {
  return ofType(events, 'chunk')
    .filter((e) => e.value.messageId === messageId)
    .sort((a, b) => a.value.seq - b.value.seq)
    .map((e) => e.value.delta)
    .join('')
}

const authorsOf = (events: Event[]): Set<string> =>
  new Set(
    ofType(events, 'chunk')
      .filter((e) => e.value.role === 'assistant')
      .map((e) => e.value.author as string),
  )

describe('several agents in one single-container session', { timeout: 180_000 }, () => {
  let h: WorkerHarness
  let id: string

  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
    id = await h.createSession({
      pattern: 'single-container',
      agents: [
        { id: 'a', name: 'Ada', model: 'echo' },
        { id: 'b', name: 'Bob', model: 'echo' },
        { id: 'c', name: 'Cy', model: 'echo' },
      ],
      routing: { defaultAgent: 'a', maxAgentTurnsInARow: CAP },
    })
  })

  afterAll(async () => {
    await h?.close()
  })

  const workerPids = async (): Promise<string[]> => {
    const runtime = await h.supervisor.runtime('process')
    return (await runtime.list()).filter((w) => w.sessionId === id && w.running).map((w) => w.nativeId)
  }

  it('runs all three agents in one worker process', async () => {
    const events = await h.waitFor(id, (e) => ['a', 'b', 'c'].every((a) => stateOf(e, a)?.status === 'idle') && e, 'three agents idle')
    expect(['a', 'b', 'c'].map((a) => stateOf(events, a)?.restarts)).toEqual([0, 0, 0])
    expect(await workerPids()).toHaveLength(1)
  })

  it('answers a mention by that agent only, an unaddressed message by the default agent', async () => {
    const m1 = await h.postMessage(id, '@b hi')
    let events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m1}@b`)?.status === 'done' && e, "b's answer")
    expect(messageText(events, 'b:t1:s0')).toBe('Echo: hi')
    expect([...authorsOf(events)]).toEqual(['b'])
    expect(turnRecord(events, `turn:${m1}@b`)).toMatchObject({ agentId: 'b', depth: 0 })

    const m2 = await h.postMessage(id, 'anyone there?')
    events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m2}@a`)?.status === 'done' && e, "the default agent's answer")
    expect(messageText(events, 'a:t1:s0')).toBe('Echo: anyone there?')
    expect([...authorsOf(events)].sort()).toEqual(['a', 'b'])
    for (const other of ['b', 'c']) expect(turnRecord(events, `turn:${m2}@${other}`)).toBeUndefined()
  })

  it("hands off: an agent's reply that mentions another starts that agent's turn, one deeper", async () => {
    const m3 = await h.postMessage(id, '@a /relay b hello')
    const events = await h.waitFor(id, (e) => turnRecord(e, 'turn:a:t2:s0@b')?.status === 'done' && e, "b's hand-off turn")
    expect(turnRecord(events, `turn:${m3}@a`)).toMatchObject({ status: 'done', depth: 0, handoffs: ['b'] })
    expect(messageText(events, 'a:t2:s0')).toBe('@b hello')
    expect(turnRecord(events, 'turn:a:t2:s0@b')).toMatchObject({ agentId: 'b', from: 'a', depth: 1, messageId: 'a:t2:s0' })
    // b wrote its own accepted record before answering.
    const bStatuses = ofType(events, 'agent-state')
      .filter((e) => e.value.id === 'turn:a:t2:s0@b')
      .map((e) => e.value.status)
    expect(bStatuses[0]).toBe('accepted')
    expect(messageText(events, 'b:t2:s0')).toBe('Echo: hello')
  })

  it('stops two agents handing off forever at the cap, with the reason in the log', async () => {
    const m4 = await h.postMessage(id, '@a /pingpong a b')
    const refusedOf = (e: Event[]) =>
      ofType(e, 'agent-state').find((x) => x.value.kind === 'turn' && x.value.handoffRefused && x.value.depth === CAP)?.value
    const events = await h.waitFor(id, (e) => refusedOf(e) && e, 'the cap to refuse a hand-off')
    const refused = refusedOf(events)!
    expect(refused).toMatchObject({ agentId: 'b', status: 'done', depth: CAP, from: 'a', handoffRefused: { to: ['a'] } })
    expect(refused.handoffRefused.reason).toMatch(/cap reached: 3 agent turns in a row/)
    // The chain: a (0) → b (1) → a (2) → b (3, refused); nothing after it.
    const chain = ofType(events, 'agent-state')
      .filter(
        (e) => e.value.kind === 'turn' && e.value.status === 'done' && e.value.acceptedAt >= turnRecord(events, `turn:${m4}@a`)!.acceptedAt,
      )
      .map((e) => `${e.value.agentId}:${e.value.depth}`)
    expect(chain).toEqual(['a:0', 'b:1', 'a:2', 'b:3'])
    await new Promise((r) => setTimeout(r, 500))
    const later = await h.events(id)
    expect(ofType(later, 'agent-state').filter((e) => e.value.kind === 'turn' && (e.value.depth ?? 0) > CAP)).toEqual([])
  })

  it('resumes every agent after a SIGKILL mid-turn: nothing lost, nothing twice', async () => {
    const [pid] = await workerPids()
    const before = await h.events(id)
    const turnsBefore = { a: stateOf(before, 'a')!.turns as number, b: stateOf(before, 'b')!.turns as number }
    const ma = await h.postMessage(id, '@a /slow /count 60')
    const mb = await h.postMessage(id, '@b /slow /count 60')
    // Both agents are mid-answer (a few words of each streamed) when the worker dies.
    await h.waitFor(
      id,
      (e) =>
        ['a', 'b'].every((agent) =>
          ofType(e, 'chunk').some(
            (c) => c.value.author === agent && c.value.turn === turnsBefore[agent as 'a' | 'b'] + 1 && c.value.delta.includes('3'),
          ),
        ),
      'both agents streaming',
    )
    process.kill(Number(pid), 'SIGKILL')
    const events = await h.waitFor(
      id,
      (e) => turnRecord(e, `turn:${ma}@a`)?.status === 'done' && turnRecord(e, `turn:${mb}@b`)?.status === 'done' && e,
      'both turns to finish after the restart',
    )
    const count = Array.from({ length: 60 }, (_, i) => String(i + 1)).join(' ')
    expect(messageText(events, `a:t${turnsBefore.a + 1}:s0`)).toBe(count)
    expect(messageText(events, `b:t${turnsBefore.b + 1}:s0`)).toBe(count)
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
    expect(turnRecord(events, `turn:${ma}@a`)!.interruptions).toBe(1)
    // Every agent came back in the one new process (c had nothing to do but is alive again).
    const after = await h.waitFor(id, (e) => ['a', 'b', 'c'].every((a) => stateOf(e, a)?.restarts === 1) && e, 'every agent restarted')
    expect(['a', 'b', 'c'].map((a) => stateOf(after, a)?.status)).toEqual(['idle', 'idle', 'idle'])
    const pids = await workerPids()
    expect(pids).toHaveLength(1)
    expect(pids[0]).not.toBe(pid)
  })

  it('cancels only the agent a cancel names; the other agent finishes its turn', async () => {
    const ma = await h.postMessage(id, '@a /slow /count 30')
    const mb = await h.postMessage(id, '@b /slow /count 400')
    await h.waitFor(id, (e) => ['streaming'].includes(turnRecord(e, `turn:${mb}@b`)?.status), 'b streaming')
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: {
        channel: 'agent-state',
        data: { kind: 'control', action: 'cancel', agentId: 'b', reason: 'user', requestedBy: 'admin-user' },
      },
    })
    expect(res.status).toBe(200)
    const events = await h.waitFor(
      id,
      (e) => turnRecord(e, `turn:${ma}@a`)?.status === 'done' && turnRecord(e, `turn:${mb}@b`)?.status === 'cancelled' && e,
      'a done and b cancelled',
    )
    expect(turnRecord(events, `turn:${mb}@b`)!.reason).toMatch(/cancelled by admin-user/)
    expect(stateOf(events, 'c')?.status).toBe('idle')
  })

  it('follows the roster live: an added agent starts in the same process, a removed one stops', async () => {
    const [pid] = await workerPids()
    const add = await h.request(`/api/sessions/${id}/agents`, { json: { id: 'd', name: 'Dee', model: 'echo' } })
    expect(add.status).toBe(201)
    await h.waitFor(id, (e) => stateOf(e, 'd')?.status === 'idle', 'the added agent to start')
    const m = await h.postMessage(id, '@dee hey')
    let events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m}@d`)?.status === 'done' && e, "d's answer")
    expect(messageText(events, 'd:t1:s0')).toBe('Echo: hey')
    expect(await workerPids()).toEqual([pid])

    const removed = await h.request(`/api/sessions/${id}/agents/d`, { method: 'DELETE' })
    expect(removed.status).toBe(200)
    events = await h.waitFor(id, (e) => stateOf(e, 'd')?.status === 'stopped' && e, 'the removed agent to stop')
    // Either the server's stop control for it or the roster entry without it, whichever comes first.
    expect(stateOf(events, 'd')?.currentStep).toMatch(/removed/)
    // d is off the roster: a message naming it goes to the default agent; the others go on.
    const after = await h.postMessage(id, '@d still there?')
    events = await h.waitFor(id, (e) => turnRecord(e, `turn:${after}@a`)?.status === 'done' && e, 'the default agent to answer')
    expect(turnRecord(events, `turn:${after}@d`)).toBeUndefined()
    expect(await workerPids()).toEqual([pid])
  })

  it('stops only the agent a stop names; it stays stopped when the roster changes, the others go on', async () => {
    const [pid] = await workerPids()
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'stop', agentId: 'c', reason: 'user', requestedBy: 'admin-user' } },
    })
    expect(res.status).toBe(200)
    await h.waitFor(id, (e) => stateOf(e, 'c')?.status === 'stopped', 'c to stop')
    expect((await h.request(`/api/sessions/${id}/agents`, { json: { id: 'e', model: 'echo' } })).status).toBe(201)
    await h.waitFor(id, (e) => stateOf(e, 'e')?.status === 'idle', 'the added agent to start')
    const m = await h.postMessage(id, '@a still here?')
    const events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m}@a`)?.status === 'done' && e, "a's answer")
    expect(stateOf(events, 'c')?.status).toBe('stopped')
    expect(await workerPids()).toEqual([pid])
  })
})

describe('several agents in a long-running session: one worker per agent', { timeout: 180_000 }, () => {
  let h: WorkerHarness
  let id: string

  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
    id = await h.createSession({
      pattern: 'long-running',
      agents: [
        { id: 'a', model: 'echo' },
        { id: 'b', model: 'echo' },
      ],
    })
  })

  afterAll(async () => {
    await h?.close()
  })

  it('runs each agent in its own process; a hand-off crosses from one to the other', async () => {
    await h.waitFor(id, (e) => ['a', 'b'].every((a) => stateOf(e, a)?.status === 'idle'), 'both agents idle')
    const runtime = await h.supervisor.runtime('process')
    const workers = (await runtime.list()).filter((w) => w.sessionId === id && w.running)
    expect(workers).toHaveLength(2)
    expect(new Set(workers.map((w) => w.nativeId)).size).toBe(2)

    const m1 = await h.postMessage(id, '@b hi')
    let events = await h.waitFor(id, (e) => turnRecord(e, `turn:${m1}@b`)?.status === 'done' && e, "b's answer")
    expect(messageText(events, 'b:t1:s0')).toBe('Echo: hi')
    expect([...authorsOf(events)]).toEqual(['b'])

    const m2 = await h.postMessage(id, '/relay b over to you')
    events = await h.waitFor(id, (e) => turnRecord(e, 'turn:a:t1:s0@b')?.status === 'done' && e, "b's hand-off turn")
    expect(turnRecord(events, `turn:${m2}@a`)).toMatchObject({ status: 'done', handoffs: ['b'] })
    expect(turnRecord(events, 'turn:a:t1:s0@b')).toMatchObject({ from: 'a', depth: 1 })
    expect(messageText(events, 'b:t2:s0')).toBe('Echo: over to you')
  })
})
