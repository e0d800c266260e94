/** Session patterns drive workers: ephemeral agents finish and complete their session; hybrid ones suspend and resume. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { answerText, latestAgentState, ofType, startWorkerHarness, turnEnded, type WorkerHarness } from './harness'

describe('worker lifecycle by session pattern', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process', monitorIntervalMs: 200 })
  })
  afterAll(async () => {
    await h?.close()
  })

  async function status(id: string): Promise<string> {
    const res = await h.request(`/api/sessions/${id}`)
    return ((await res.json()) as { session: { status: string } }).session.status
  }

  it('an ephemeral session completes once its agent has done its task, and its worker is removed', async () => {
    const id = await h.createSession({ pattern: 'ephemeral' })
    await h.postMessage(id, 'do the one thing')
    const events = await h.waitFor(id, (e) => latestAgentState(e)?.status === 'stopped' && e, 'the agent to stop')
    expect(answerText(events, 1)).toBe('Echo: do the one thing')
    await expect.poll(() => status(id), { timeout: 30_000 }).toBe('completed')
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
  })

  it('a session that passes a limit is ended and its worker removed', async () => {
    const id = await h.createSession({ pattern: 'long-running', limits: { maxTurns: 1 } })
    await h.postMessage(id, 'one turn only')
    await expect.poll(() => status(id), { timeout: 30_000 }).toBe('terminated')
    const res = await h.request(`/api/sessions/${id}`)
    expect(((await res.json()) as { session: { endReason: string } }).session.endReason).toBe('limit:turns')
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
    const events = await h.events(id)
    expect(answerText(events, 1)).toBe('Echo: one turn only')
  })

  it('a hybrid session suspended by its idle limit stops its worker, and a new message brings one back', async () => {
    const id = await h.createSession({ pattern: 'hybrid', limits: { maxIdleTimeMs: 2_000 } })
    await h.waitFor(id, latestAgentState, 'worker ready')
    await expect.poll(() => status(id), { timeout: 30_000 }).toBe('idle')
    await h.waitFor(id, (e) => latestAgentState(e)?.status === 'stopped', 'the agent to stop on suspend')
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
    await h.postMessage(id, 'wake up')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'the resumed agent to answer')
    expect(answerText(events, 1)).toBe('Echo: wake up')
    // Resumed, not a crash: the earlier stop was answered, so it does not stop the new worker.
    const states = ofType(events, 'agent-state').filter((e) => e.value.kind === 'state')
    expect(states.at(-1)!.value.restarts).toBe(0)
    // Idle again after its answer, it is suspended again (the cycle repeats).
    await expect.poll(() => status(id), { timeout: 30_000 }).toBe('idle')
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
  })
})
