/**
 * The `worker.crashed` lifecycle event: a real process worker killed with SIGKILL mid-session is
 * recorded in `__tether/lifecycle` (the source webhooks deliver from) with its session, runtime and
 * exit, once per crash, and the worker is restarted as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LifecycleEvent } from '../../../src/lib/ops/lifecycle'
import { startWorkerHarness, type WorkerHarness } from '../workers/harness'

let h: WorkerHarness
beforeAll(async () => {
  h = await startWorkerHarness({ runtime: 'process' })
})
afterAll(async () => {
  await h?.close()
})

async function lifecycle(): Promise<LifecycleEvent[]> {
  const res = await h.request('/api/streams/__tether/lifecycle?offset=-1')
  expect(res.status).toBe(200)
  return (await res.json()) as LifecycleEvent[]
}

describe('worker.crashed', () => {
  it('is recorded once per crash with the session, runtime and exit, and the worker comes back', async () => {
    const sessionId = await h.createSession()
    await h.postMessage(sessionId, 'hello')
    await h.waitFor(sessionId, (evs) => evs.some((e) => e.type === 'chunk' && e.value.role === 'assistant' && e.value.done), 'the first answer')
    expect((await lifecycle()).filter((e) => e.type === 'worker.crashed')).toEqual([])

    const worker = h.supervisor.workerOf(sessionId)
    const runtime = await h.supervisor.runtime('process')
    const pid = Number((await runtime.inspect(worker?.workerId ?? ''))?.nativeId)
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGKILL')

    const deadline = Date.now() + 60_000
    let crashes: LifecycleEvent[] = []
    while (Date.now() < deadline) {
      crashes = (await lifecycle()).filter((e) => e.type === 'worker.crashed')
      if (crashes.length > 0 && h.supervisor.workerOf(sessionId)?.restarts === 1) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(crashes).toHaveLength(1)
    expect(crashes[0]).toMatchObject({ sessionId, data: { sessionId, runtime: 'process', crashes: 1 } })
    expect(crashes[0].id).toMatch(/^evt_/)
    expect(h.supervisor.workerOf(sessionId)).toMatchObject({ phase: 'running', restarts: 1 })
    // The restarted worker still answers.
    await h.postMessage(sessionId, 'again')
    await h.waitFor(
      sessionId,
      (evs) => evs.filter((e) => e.type === 'chunk' && e.value.role === 'assistant' && e.value.done).length >= 2,
      'the second answer',
    )
  })
})
