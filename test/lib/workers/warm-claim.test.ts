/**
 * A claimed warm worker (issue #13) starts from the session setup its claim carries: its first
 * heartbeat waits only for the stream, so the app is never asked for the session record on that
 * path. And process workers run node with the memory flags (runtime.ts WORKER_NODE_FLAGS).
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WORKER_NODE_FLAGS } from '../../../src/lib/workers/runtime'
import { agentStateOf, answerText, startWorkerHarness, turnEnded, workerPidOf, type WorkerHarness } from './harness'

describe('warm claim carries the session setup', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process', warmPool: { process: 1 } })
  })
  afterAll(async () => {
    await h?.close()
  })

  const pooled = async () => {
    const pool = await h.supervisor.runtime('process').then(() => h.supervisor.pool('process')!)
    await expect.poll(() => pool.available, { timeout: 60_000 }).toBe(1)
  }
  const recordFetches = (id: string) => h.requests.filter((r) => r === `GET /api/sessions/${id}`)

  it('a claimed warm worker starts its turn without fetching the session record', async () => {
    await pooled()
    const id = await h.createSession({ agent: { model: 'echo', systemPrompt: 'from the claim' } })
    await h.waitFor(id, (e) => agentStateOf(e, 'agent'), 'the first heartbeat')
    expect(h.supervisor.workerOf(id)?.restarts).toBe(0)
    await h.postMessage(id, 'hello from the claim')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toBe('Echo: hello from the claim')
    expect(agentStateOf(events, 'agent')?.model).toBe('echo')
    // The worker read the stream only: nobody asked the app for this session's record.
    expect(recordFetches(id)).toEqual([])
    expect(h.requests.some((r) => r.startsWith(`GET /api/streams/sessions/${id}`))).toBe(true)
  })

  it('a claimed single-container worker hosts every agent the claim names', async () => {
    await pooled()
    const id = await h.createSession({
      pattern: 'single-container',
      agents: [
        { id: 'a', model: 'echo' },
        { id: 'b', model: 'echo' },
      ],
      routing: { defaultAgent: 'b' },
    })
    await h.waitFor(id, (e) => agentStateOf(e, 'a') && agentStateOf(e, 'b'), 'both agents to beat')
    expect(recordFetches(id)).toEqual([])
    // The other agent's token is still the server's to give (POST …/agents/a/token).
    expect(h.requests).toContain(`POST /api/sessions/${id}/agents/a/token`)
  })

  it('the process worker is spawned with the memory flags', async () => {
    const id = await h.createSession()
    // The session's worker is assigned asynchronously after the create answers: wait for it.
    await h.waitFor(id, (e) => agentStateOf(e, 'agent'), 'the first heartbeat')
    const pid = await workerPidOf(h, id)
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
    expect(argv[0]).toBe(process.execPath)
    expect(argv.slice(1, 1 + WORKER_NODE_FLAGS.length)).toEqual([...WORKER_NODE_FLAGS])
    expect(argv[1 + WORKER_NODE_FLAGS.length]).toMatch(/worker\.cjs$/)
  })
})
