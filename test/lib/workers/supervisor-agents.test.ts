/**
 * Several agents (issue #15) on the process runtime: the supervisor runs one worker per agent
 * outside single-container, follows the agent list as agents are added and removed, and runs one
 * worker for every agent of a single-container session.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ofType, startWorkerHarness, type Event, type WorkerHarness } from './harness'

const echo = (id: string) => ({ id, model: 'echo' })

describe('supervisor: one worker per agent, one per single-container session', { timeout: 180_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
  })
  afterAll(async () => {
    await h?.close()
  })

  /** The session's workers as the runtime has them (not only as the supervisor believes). */
  async function runtimeWorkers(sessionId: string) {
    const runtime = await h.supervisor.runtime('process')
    return (await runtime.list()).filter((w) => w.sessionId === sessionId && w.running)
  }

  const running = (sessionId: string) =>
    h.supervisor
      .workersOf(sessionId)
      .filter((w) => w.phase === 'running')
      .map((w) => w.agentId)
      .sort()

  /** Agents that have written a heartbeat of their own state (each from its own worker's token). */
  const heartbeating = (events: Event[]) =>
    new Set(
      ofType(events, 'agent-state')
        .filter((e) => e.value.kind === 'state' && typeof e.value.lastHeartbeat === 'number')
        .map((e) => e.value.agentId as string),
    )

  it('a hybrid session with agents a and b gets two workers; adding c makes three, removing b two, removing the default a one (same work dir)', async () => {
    const id = await h.createSession({ pattern: 'hybrid', agent: undefined, agents: [echo('a'), echo('b')] })
    await expect.poll(() => running(id), { timeout: 60_000 }).toEqual(['a', 'b'])
    const units = h.supervisor.workersOf(id)
    expect(units[0]).toMatchObject({ agentId: 'a', primary: true })
    expect(h.supervisor.workerOf(id)).toMatchObject({ agentId: 'a', primary: true })
    expect(new Set(units.map((u) => u.workerId)).size).toBe(2)
    const workers = await runtimeWorkers(id)
    expect(workers.map((w) => w.agentId ?? null).sort()).toEqual(['b', null])
    // Each its own work dir.
    expect(new Set(workers.map((w) => w.workDir)).size).toBe(2)
    await h.waitFor(id, (e) => heartbeating(e).has('a') && heartbeating(e).has('b'), 'both agents to beat')

    const added = await h.request(`/api/sessions/${id}/agents`, { json: echo('c') })
    expect(added.status).toBe(201)
    await expect.poll(() => running(id), { timeout: 60_000 }).toEqual(['a', 'b', 'c'])
    await expect.poll(async () => (await runtimeWorkers(id)).length, { timeout: 30_000 }).toBe(3)
    await h.waitFor(id, (e) => heartbeating(e).has('c'), 'the added agent to beat')

    const bWorker = h.supervisor.workersOf(id).find((w) => w.agentId === 'b')?.workerId
    const removed = await h.request(`/api/sessions/${id}/agents/b`, { method: 'DELETE' })
    expect(removed.status).toBe(200)
    await expect.poll(() => running(id), { timeout: 60_000 }).toEqual(['a', 'c'])
    await expect.poll(async () => (await runtimeWorkers(id)).map((w) => w.id), { timeout: 30_000 }).not.toContain(bWorker)
    expect((await runtimeWorkers(id)).length).toBe(2)

    // Removing the default agent a: c becomes the default, and the main unit's worker restarts as c
    // in the same work dir (the session's files stay); c's own worker goes.
    const main = h.supervisor.workerOf(id)!
    const runtime = await h.supervisor.runtime('process')
    const mainDir = (await runtime.inspect(main.workerId!))!.workDir
    writeFileSync(join(mainDir, 'keep.txt'), 'the session files')
    const removedA = await h.request(`/api/sessions/${id}/agents/a`, { method: 'DELETE' })
    expect(removedA.status).toBe(200)
    await expect.poll(() => h.supervisor.workersOf(id).map((w) => `${w.agentId}:${w.primary}:${w.phase}`), { timeout: 60_000 }).toEqual(['c:true:running'])
    expect(h.supervisor.workerOf(id)?.workerId).toBe(main.workerId)
    await expect.poll(async () => (await runtimeWorkers(id)).length, { timeout: 30_000 }).toBe(1)
    expect(readFileSync(join(mainDir, 'keep.txt'), 'utf8')).toBe('the session files')
    const since = (await h.events(id)).length
    await h.waitFor(id, (e) => heartbeating(e.slice(since)).has('c'), 'c to beat from the main worker')

    // Ending the session stops every unit.
    const ended = await h.request(`/api/sessions/${id}`, { method: 'DELETE' })
    expect(ended.status).toBeLessThan(300)
    await expect.poll(() => h.supervisor.workersOf(id).length, { timeout: 30_000 }).toBe(0)
    await expect.poll(async () => (await runtimeWorkers(id)).length, { timeout: 30_000 }).toBe(0)
  })

  it('a single-container session with three agents runs one worker', async () => {
    const id = await h.createSession({ pattern: 'single-container', agent: undefined, agents: [echo('a'), echo('b'), echo('c')] })
    await expect.poll(() => running(id), { timeout: 60_000 }).toEqual(['a'])
    await h.waitFor(id, (e) => heartbeating(e).has('a'), 'the worker to beat')
    expect(await runtimeWorkers(id)).toHaveLength(1)
    // Adding an agent does not start another worker: the one worker follows the roster.
    const added = await h.request(`/api/sessions/${id}/agents`, { json: echo('d') })
    expect(added.status).toBe(201)
    const before = h.supervisor.workerOf(id)?.workerId
    await h.waitFor(id, (e) => ofType(e, 'agent-state').some((x) => x.value.kind === 'roster' && x.value.agents.length === 4), 'the roster')
    expect(h.supervisor.workersOf(id).map((w) => w.workerId)).toEqual([before])
    expect(await runtimeWorkers(id)).toHaveLength(1)
  })
})

describe('supervisor: per-agent workers from the warm pool', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process', warmPool: { process: 2 } })
    await h.supervisor.runtime('process')
  })
  afterAll(async () => {
    await h?.close()
  })

  it("claims a warm worker for each agent's unit, and each serves its own agent", async () => {
    const pool = h.supervisor.pool('process')!
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(2)
    const warmIds = (await (await h.supervisor.runtime('process')).list()).filter((w) => w.sessionId === null).map((w) => w.id)
    const id = await h.createSession({ pattern: 'long-running', agent: undefined, agents: [echo('a'), echo('b')] })
    await expect.poll(() => h.supervisor.workersOf(id).filter((w) => w.phase === 'running').length, { timeout: 60_000 }).toBe(2)
    expect(
      h.supervisor
        .workersOf(id)
        .map((w) => w.workerId)
        .sort(),
    ).toEqual([...warmIds].sort())
    await h.postMessage(id, '@b from a warm worker')
    const events = await h.waitFor(
      id,
      (e) => ofType(e, 'chunk').some((c) => c.value.author === 'b' && c.value.done) && e,
      "b's answer",
    )
    const b = ofType(events, 'chunk').filter((c) => c.value.author === 'b' && c.value.role === 'assistant')
    expect(b.map((c) => c.value.delta).join('')).toBe('Echo: from a warm worker')
    expect(ofType(events, 'chunk').some((c) => c.value.author === 'a')).toBe(false)
  })
})

