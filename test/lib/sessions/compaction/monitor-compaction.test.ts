/** The session monitor compacts live sessions (interval + new bytes) and each session it ends, once. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSession, readStream, startHarness, write, type Harness } from '../harness'

describe('monitor-driven compaction (builtin streams)', () => {
  let h: Harness
  let sid: string
  const stored = () =>
    (
      h.app.streams!.sqlite
        .prepare(`SELECT COALESCE(SUM(m.count), 0) AS n FROM messages m JOIN streams s ON s.id = m.stream_id WHERE s.path = ?`)
        .get(`sessions/${sid}`) as { n: number }
    ).n

  beforeAll(async () => {
    h = await startHarness('builtin', { sessions: { compaction: { intervalMs: 10_000, minNewBytes: 1, chunkGraceMs: 1_000 } } })
    sid = await createSession(h)
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    for (let seq = 0; seq < 10; seq++) {
      await write(h, sid, { channel: 'chunk', data: { messageId: 'm1', role: 'assistant', author: 'agent-1', turn: 1, seq, delta: `t${seq} `, done: seq === 9 } }, worker)
    }
  })
  afterAll(async () => {
    await h?.close()
  })

  it('compacts a live session once the grace and interval allow, not again within the interval', async () => {
    const before = stored()
    h.clock.advance(2_000)
    const first = await h.app.monitor.tick()
    expect(first.compacted).toEqual([sid])
    expect(stored()).toBeLessThan(before)
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    await write(h, sid, { channel: 'chunk', data: { messageId: 'm2', role: 'assistant', author: 'agent-1', turn: 2, seq: 0, delta: 'x', done: false } }, worker)
    h.clock.advance(2_000)
    expect((await h.app.monitor.tick()).compacted).toEqual([])
    const text = (await readStream(h, sid)).events.filter((e) => e.type === 'chunk' && e.value.folded).map((e) => e.value.delta)
    expect(text).toEqual(['t0 t1 t2 t3 t4 t5 t6 t7 t8 t9 '])
  })

  it('compacts a session it ends (stream closed) even within the interval', async () => {
    const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    for (let seq = 1; seq < 5; seq++) {
      await write(h, sid, { channel: 'chunk', data: { messageId: 'm2', role: 'assistant', author: 'agent-1', turn: 2, seq, delta: 'x', done: seq === 4 } }, worker)
    }
    const close = await h.request(`/api/streams/sessions/${sid}`, { method: 'POST', token: h.adminToken, headers: { 'stream-closed': 'true' } })
    expect(close.status).toBeLessThan(300)
    h.clock.advance(2_000)
    const report = await h.app.monitor.tick()
    expect(report.ended.map((e) => e.id)).toEqual([sid])
    expect(report.compacted).toEqual([sid])
  })

  it('compacts a terminated session at once, without waiting for the grace period (its stream is closed)', async () => {
    const other = await createSession(h)
    const worker = await h.app.issueToken({ role: 'worker', sessionId: other, subject: 'agent-1' })
    for (let seq = 0; seq < 4; seq++) {
      await write(h, other, { channel: 'chunk', data: { messageId: 'm', role: 'assistant', author: 'agent-1', turn: 1, seq, delta: `${seq}`, done: seq === 3 } }, worker)
    }
    const res = await h.request(`/api/sessions/${other}/terminate`, { token: h.adminToken, json: {} })
    expect(res.status).toBe(200)
    // The compaction's read and plan ran before the answer; its rewrite is queued before any later request.
    const chunks = (await readStream(h, other)).events.filter((e) => e.type === 'chunk')
    expect(chunks.map((e) => e.key)).toEqual(['m:0', 'm:folded'])
    expect(chunks[1]!.value).toMatchObject({ delta: '0123', folded: 4, done: true })
  })
})
