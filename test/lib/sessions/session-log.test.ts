import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'
import { EventIdIndex, ScalableBloom } from '../../../src/lib/sessions/event-ids'
import { usageOf } from '../../../src/lib/sessions/fold'
import { SessionLogs } from '../../../src/lib/sessions/session-log'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

describe('EventIdIndex', () => {
  it('keeps the newest ids exactly and never forgets an older one (yes or maybe, never no)', () => {
    const index = new EventIdIndex(100)
    for (let i = 0; i < 5000; i++) index.add(`evt-${i}`)
    expect(index.exactSize).toBe(100)
    expect(index.spilled).toBe(true)
    for (let i = 4900; i < 5000; i++) expect(index.has(`evt-${i}`)).toBe('yes')
    for (let i = 0; i < 4900; i++) expect(index.has(`evt-${i}`)).not.toBe('no')
    // The Bloom filter's false positives (~0.1 %) are settled by the fingerprints: never a 'maybe'.
    let bloomMaybes = 0
    const bloom = new ScalableBloom(1024)
    for (let i = 0; i < 4900; i++) bloom.add(`evt-${i}`)
    for (let i = 0; i < 20_000; i++) {
      if (bloom.mayHave(`other-${i}`)) bloomMaybes++
      expect(index.has(`other-${i}`)).toBe('no')
    }
    expect(bloomMaybes).toBeGreaterThan(0) // the case above was met, not only hoped for
  })

  it('spills the oldest id first, whatever was added, re-added or spilled before', () => {
    const index = new EventIdIndex(3)
    for (const id of ['a', 'b', 'c', 'a', 'd']) index.add(id)
    expect(['a', 'b', 'c', 'd'].map((id) => index.has(id))).toEqual(['maybe', 'yes', 'yes', 'yes'])
    index.add('e')
    index.add('f')
    expect(['b', 'c', 'd', 'e', 'f'].map((id) => index.has(id))).toEqual(['maybe', 'maybe', 'yes', 'yes', 'yes'])
    expect(index.exactSize).toBe(3)
  })
})

const chunkEvent = (messageId: string, seq: number): SessionEvent => {
  const built = buildSessionEvent(
    { channel: 'chunk', data: { messageId, role: 'user', author: 'admin-user', turn: 0, seq, delta: `d${seq}` } },
    { now: Date.now() },
  )
  if (!built.ok) throw new Error(built.message)
  return built.value
}

const agentState = (agentId: string, tokensIn: number, status = 'thinking') => ({
  type: 'agent-state',
  key: agentId,
  value: { id: agentId, agentId, kind: 'state', status, tokensIn, tokensOut: 1, costUsd: 0.5, turns: 1, lastHeartbeat: 1, timestamp: 1 },
  headers: { operation: 'upsert', eventId: `agent-${agentId}-${tokensIn}`, timestamp: new Date().toISOString() },
})

describe.each(BACKENDS)('session log (%s streams)', (backend) => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(backend)
  })
  afterAll(() => h.close())

  it('deduplicates ids evicted from the exact set by looking in the stream', async () => {
    const sid = await createSession(h)
    const logs = new SessionLogs(h.app.endpoint, () => Date.now(), 4)
    for (let i = 0; i < 12; i++) expect((await logs.append(sid, [chunkEvent('m-evict', i)])).appended).toBe(1)
    const retryOld = await logs.append(sid, [chunkEvent('m-evict', 0), chunkEvent('m-evict', 12)])
    expect(retryOld).toMatchObject({ appended: 1, duplicates: 1 })
    // A fresh process with the same small limit rebuilds the same answer from the stream.
    const restarted = new SessionLogs(h.app.endpoint, () => Date.now(), 4)
    expect(await restarted.append(sid, [chunkEvent('m-evict', 1), chunkEvent('m-evict', 11)])).toMatchObject({ appended: 0, duplicates: 2 })
    const all = await readStream(h, sid)
    for (let i = 0; i <= 12; i++) expect(all.events.filter((e) => e.key === `m-evict:${i}`)).toHaveLength(1)
    expect(retryOld.offset <= all.next).toBe(true)
  })

  it('folds its own appends and raw appends in between to the same usage as a fold from scratch', async () => {
    const sid = await createSession(h)
    await write(h, sid, {
      channel: 'agent-state',
      data: { agentId: 'a1', status: 'thinking', tokensIn: 10, tokensOut: 1, costUsd: 0.25, turns: 1 },
    })
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [agentState('a2', 7)] })
    expect(raw.status).toBeLessThan(300)
    await write(h, sid, {
      channel: 'agent-state',
      data: { agentId: 'a1', status: 'idle', tokensIn: 20, tokensOut: 2, costUsd: 0.5, turns: 2 },
    })
    const raw2 = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [agentState('a2', 9, 'idle')] })
    expect(raw2.status).toBeLessThan(300)
    const last = await write(h, sid, {
      channel: 'chunk',
      data: { messageId: 'm-u', role: 'user', author: 'admin-user', turn: 2, seq: 0, delta: 'hi' },
    })
    const fresh = new SessionLogs(h.app.endpoint, () => h.clock.now())
    const fromScratch = usageOf(await fresh.catchUp(sid))
    expect(fromScratch).toMatchObject({ tokensIn: 29, tokensOut: 3, costUsd: 1, turns: 3 })
    const res = await h.request(`/api/sessions/${sid}`, { token: h.adminToken })
    const { session } = (await res.json()) as { session: { usage: Record<string, unknown> } }
    expect(session.usage).toMatchObject({ tokensIn: 29, tokensOut: 3, costUsd: 1, turns: 3 })
    expect(last.offset).toBe((await readStream(h, sid)).next)
  })

  it('lets exactly one of many concurrent retries of the same batch append it', async () => {
    const sid = await createSession(h)
    const batch = Array.from({ length: 10 }, (_, i) => ({
      channel: 'chunk',
      data: { messageId: 'm-race', role: 'user', author: 'admin-user', turn: 0, seq: i, delta: 'x' },
    }))
    const answers = await Promise.all(Array.from({ length: 8 }, () => write(h, sid, batch)))
    expect(answers.reduce((n, a) => n + a.duplicates, 0)).toBe(70)
    const all = await readStream(h, sid)
    expect(all.events.filter((e) => e.value?.messageId === 'm-race')).toHaveLength(10)
    for (const a of answers) expect(a.offset <= all.next).toBe(true)
  })

  it('folds a raw append from the events the gate validated, without reading the stream', async () => {
    const sid = await createSession(h)
    let reads = 0
    const counting = {
      ...h.app.endpoint,
      transport: (req: Request) => {
        if (req.method === 'GET') reads++
        return h.app.endpoint.transport(req)
      },
    }
    const logs = new SessionLogs(counting, () => Date.now())
    await logs.catchUp(sid)
    const before = reads
    const event = agentState('a-raw', 40) as SessionEvent
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [event] })
    expect(raw.status).toBeLessThan(300)
    const offset = raw.headers.get('stream-next-offset')
    expect(offset).toBeTruthy()
    const fold = await logs.foldAppended(sid, [event], offset as string)
    expect(reads).toBe(before)
    expect(usageOf(fold!)).toMatchObject({ tokensIn: 40, tokensOut: 1, costUsd: 0.5 })
    // The next read folds it again, in stream order, and counts it once.
    const caughtUp = await logs.catchUp(sid)
    const fromScratch = await new SessionLogs(h.app.endpoint, () => Date.now()).catchUp(sid)
    expect(caughtUp.events).toBe(fromScratch.events)
    expect(usageOf(caughtUp)).toEqual(usageOf(fromScratch))
  })

  it('reads only what it did not write once its own appends follow each other (built-in offsets count appends)', async () => {
    const sid = await createSession(h)
    const readFrom: string[] = []
    const counting = {
      ...h.app.endpoint,
      transport: (req: Request) => {
        if (req.method === 'GET') readFrom.push(new URL(req.url).searchParams.get('offset') ?? '')
        return h.app.endpoint.transport(req)
      },
    }
    const logs = new SessionLogs(counting, () => Date.now())
    const loaded = (await logs.catchUp(sid)).offset
    let last = ''
    for (let i = 0; i < 3; i++) last = (await logs.append(sid, [chunkEvent('m-tail', i)])).offset
    readFrom.length = 0
    const afterOwn = await logs.catchUp(sid)
    // Built-in: nothing else landed between the three appends, so the read starts at the tail.
    expect(readFrom[0]).toBe(backend === 'builtin' ? last : loaded)
    const fromScratch = () => new SessionLogs(h.app.endpoint, () => Date.now()).catchUp(sid)
    expect(afterOwn.events).toBe((await fromScratch()).events)

    // Someone else appends between two of ours (not folded here): the chain breaks, and the
    // next read starts where the last read ended, so that append is folded, in stream order.
    const readEnd = afterOwn.offset
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [agentState('a-between', 11)] })
    expect(raw.status).toBeLessThan(300)
    await logs.append(sid, [chunkEvent('m-tail', 3)])
    readFrom.length = 0
    const afterGap = await logs.catchUp(sid)
    expect(readFrom[0]).toBe(readEnd)
    const scratch = await fromScratch()
    expect(afterGap.events).toBe(scratch.events)
    expect(usageOf(afterGap)).toEqual(usageOf(scratch))
    expect(usageOf(afterGap)).toMatchObject({ tokensIn: 11 })
  })

  it('does not fold a raw append twice when a read already folded it', async () => {
    const sid = await createSession(h)
    const logs = new SessionLogs(h.app.endpoint, () => Date.now())
    await logs.catchUp(sid)
    const event = agentState('a-read', 5) as SessionEvent
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [event] })
    const afterRead = (await logs.catchUp(sid)).events
    await logs.foldAppended(sid, [event], raw.headers.get('stream-next-offset') as string)
    expect((await logs.catchUp(sid)).events).toBe(afterRead)
  })

  it('updates the session record from a raw append without a read (the gate hands the events to the manager)', async () => {
    const sid = await createSession(h)
    await write(h, sid, {
      channel: 'chunk',
      data: { messageId: 'm-load', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'load the fold' },
    })
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [agentState('a-rec', 123)] })
    expect(raw.status).toBeLessThan(300)
    const deadline = Date.now() + 5000
    while ((await h.app.store.get(sid))?.usage.tokensIn !== 123 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect((await h.app.store.get(sid))?.usage.tokensIn).toBe(123)
  })

  it('answers every write with the tail after it, writes interleaved with raw appends', async () => {
    const sid = await createSession(h)
    for (let i = 0; i < 5; i++) {
      const w = await write(h, sid, {
        channel: 'chunk',
        data: { messageId: 'm-tail', role: 'user', author: 'admin-user', turn: 0, seq: i, delta: 'x' },
      })
      expect(w.offset).toBe((await readStream(h, sid)).next)
      const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [agentState('a-tail', i)] })
      expect(raw.status).toBeLessThan(300)
    }
  })
})
