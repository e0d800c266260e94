/**
 * Bar 3: the monitor ends sessions past their idle, lifetime, budget and turn limits, driven by an
 * injected clock (monitor.tick() instead of waiting), and keeps hybrid / ephemeral lifecycles.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SessionWorkerCallbacks } from '../../../src/lib/sessions/worker-callbacks'
import type { SessionRecord } from '../../../src/lib/sessions/session-types'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

const MIN = 60_000

function recorder() {
  const calls: { hook: string; id?: string; reason?: string; ids?: string[] }[] = []
  const hooks: SessionWorkerCallbacks = {
    onSessionCreated: (s) => void calls.push({ hook: 'created', id: s.id }),
    onSessionEnded: (s, reason) => void calls.push({ hook: 'ended', id: s.id, reason }),
    onSessionSuspended: (s) => void calls.push({ hook: 'suspended', id: s.id }),
    onSessionResumed: (s) => void calls.push({ hook: 'resumed', id: s.id }),
    reconcile: (active) => void calls.push({ hook: 'reconcile', ids: active.map((s) => s.id) }),
  }
  return { calls, hooks }
}

const agent = (data: Record<string, unknown>) => ({
  channel: 'agent-state',
  data: { agentId: 'agent-1', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, ...data },
})
const userChunk = (messageId: string) => ({
  channel: 'chunk',
  data: { messageId, role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'hi', done: true },
})
const presence = { channel: 'presence', data: { userId: 'admin-user', displayName: 'A', color: '#000000', status: 'active' } }

describe.each(BACKENDS)('session monitor and limits (%s streams)', (backend) => {
  let h: Harness
  const rec = recorder()
  beforeAll(async () => {
    h = await startHarness(backend, { workers: rec.hooks, sessions: { ephemeralRemoveAfterMs: 5 * MIN } })
  })
  afterAll(() => h.close())

  const session = async (id: string) =>
    ((await (await h.request(`/api/sessions/${id}`, { token: h.adminToken })).json()) as { session: SessionRecord }).session
  const tick = () => h.app.monitor.tick()

  async function expectEnded(id: string, reason: string) {
    const s = await session(id)
    expect(s).toMatchObject({ status: 'terminated', endReason: reason })
    const read = await readStream(h, id)
    expect(read.closed).toBe(true)
    expect(read.events.at(-1)).toMatchObject({
      type: 'agent-state',
      value: { kind: 'control', action: 'stop', reason, requestedBy: 'system' },
    })
    expect(rec.calls).toContainEqual({ hook: 'ended', id, reason })
  }

  it('ends a session idle for longer than maxIdleTimeMs, counting from its last activity', async () => {
    const id = await createSession(h, { limits: { maxIdleTimeMs: 10 * MIN } })
    h.clock.advance(6 * MIN)
    await write(h, id, userChunk('m1'))
    h.clock.advance(6 * MIN)
    await tick()
    expect((await session(id)).status).toBe('active')
    h.clock.advance(5 * MIN)
    const report = await tick()
    expect(report.ended).toContainEqual({ id, reason: 'limit:idle' })
    await expectEnded(id, 'limit:idle')
  })

  it('does not count presence heartbeats as activity, nor end a session while a tool call runs', async () => {
    const id = await createSession(h, { limits: { maxIdleTimeMs: 10 * MIN } })
    await write(h, id, { channel: 'tool-call', data: { id: 'tc', messageId: 'm', name: 'sleep', input: {}, status: 'running' } })
    h.clock.advance(30 * MIN)
    await tick()
    expect((await session(id)).status).toBe('active')
    await write(h, id, { channel: 'tool-call', data: { id: 'tc', messageId: 'm', name: 'sleep', input: {}, status: 'succeeded' } })
    h.clock.advance(9 * MIN)
    await write(h, id, presence)
    h.clock.advance(2 * MIN)
    await write(h, id, presence)
    await tick()
    await expectEnded(id, 'limit:idle')
  })

  it('ends a session past maxLifetimeMs even while active', async () => {
    const id = await createSession(h, { limits: { maxLifetimeMs: 60 * MIN } })
    h.clock.advance(59 * MIN)
    await write(h, id, userChunk('m1'))
    await tick()
    expect((await session(id)).status).toBe('active')
    h.clock.advance(2 * MIN)
    await tick()
    await expectEnded(id, 'limit:lifetime')
  })

  it('ends a session whose agents reach maxBudgetUsd', async () => {
    const id = await createSession(h, { limits: { maxBudgetUsd: 1 } })
    await write(h, id, [agent({ costUsd: 0.6 }), agent({ agentId: 'agent-2', id: 'agent-2', costUsd: 0.3 })])
    await tick()
    expect((await session(id)).status).toBe('active')
    await write(h, id, agent({ agentId: 'agent-2', costUsd: 0.4 }))
    await tick()
    await expectEnded(id, 'limit:budget')
    expect((await session(id)).usage.costUsd).toBeCloseTo(1.0, 9)
  })

  it('ends a session whose agents reach maxTurns', async () => {
    const id = await createSession(h, { limits: { maxTurns: 3 } })
    await write(h, id, agent({ turns: 2 }))
    await tick()
    expect((await session(id)).status).toBe('active')
    await write(h, id, agent({ turns: 3 }))
    await tick()
    await expectEnded(id, 'limit:turns')
  })

  it('enforces limits from usage folded from the stream after a restart', async () => {
    const id = await createSession(h, { limits: { maxBudgetUsd: 2 } })
    await write(h, id, agent({ costUsd: 2.5 }))
    await h.restart()
    await tick()
    await expectEnded(id, 'limit:budget')
  })

  it('suspends an idle hybrid session (stream open) and resumes it on the next message, not on presence', async () => {
    const id = await createSession(h, { pattern: 'hybrid', limits: { maxIdleTimeMs: 5 * MIN } })
    h.clock.advance(6 * MIN)
    const report = await tick()
    expect(report.suspended).toContain(id)
    expect((await session(id)).status).toBe('idle')
    expect(rec.calls).toContainEqual({ hook: 'suspended', id })
    const read = await readStream(h, id)
    expect(read.closed).toBe(false)
    expect(read.events.at(-1)).toMatchObject({ value: { kind: 'control', action: 'stop', reason: 'limit:idle' } })
    await write(h, id, presence)
    expect((await session(id)).status).toBe('idle')
    await write(h, id, userChunk('m-back'))
    expect((await session(id)).status).toBe('active')
    expect(rec.calls).toContainEqual({ hook: 'resumed', id })
    await tick()
    expect((await session(id)).status).toBe('active')
  })

  it('completes an ephemeral session when its agents stop, then removes it after the grace period', async () => {
    const id = await createSession(h, { pattern: 'ephemeral' })
    await write(h, id, agent({ status: 'running-tool' }))
    await tick()
    expect((await session(id)).status).toBe('active')
    await write(h, id, agent({ status: 'stopped', turns: 1 }))
    await tick()
    const done = await session(id)
    expect(done).toMatchObject({ status: 'completed', endReason: 'completed' })
    expect(rec.calls).toContainEqual({ hook: 'ended', id, reason: 'completed' })
    h.clock.advance(4 * MIN)
    await tick()
    expect((await h.request(`/api/sessions/${id}`, { token: h.adminToken })).status).toBe(200)
    h.clock.advance(2 * MIN)
    const report = await tick()
    expect(report.removed).toContain(id)
    expect((await h.request(`/api/sessions/${id}`, { token: h.adminToken })).status).toBe(404)
    expect((await h.request(`/api/streams/sessions/${id}?offset=-1`, { token: h.adminToken })).status).toBe(404)
  })

  it('tells the worker hooks about created sessions and reconciles the active ones on every tick', async () => {
    const id = await createSession(h)
    expect(rec.calls).toContainEqual({ hook: 'created', id })
    await tick()
    const last = rec.calls.filter((c) => c.hook === 'reconcile').at(-1)
    expect(last?.ids).toContain(id)
    await h.request(`/api/sessions/${id}/terminate`, { token: h.adminToken, method: 'POST' })
    await tick()
    expect(rec.calls.filter((c) => c.hook === 'reconcile').at(-1)?.ids).not.toContain(id)
  })

  it('marks a session whose stream was closed behind its back as completed', async () => {
    const id = await createSession(h)
    await h.request(`/api/streams/sessions/${id}`, { token: h.adminToken, method: 'POST', headers: { 'stream-closed': 'true' } })
    await tick()
    expect(await session(id)).toMatchObject({ status: 'completed', endReason: 'stream-closed' })
  })
})
