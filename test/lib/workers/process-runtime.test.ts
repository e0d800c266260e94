/**
 * Agent workers on the process runtime, end to end: the real app over HTTP, real worker child
 * processes (the bundled worker), the `echo` provider (the offline test double for paid LLM APIs).
 */
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  answerText,
  chunkGaps,
  duplicateImmutableEvents,
  latestAgentState,
  ofType,
  startWorkerHarness,
  turnEnded,
  type Event,
  type WorkerHarness,
} from './harness'

const count = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(' ')

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('process runtime', { timeout: 120_000 }, () => {
  let h: WorkerHarness

  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
  })
  afterAll(async () => {
    await h?.close()
  })

  async function workerPid(sessionId: string): Promise<number> {
    const w = h.supervisor.workerOf(sessionId)
    if (!w?.workerId) throw new Error('no worker')
    const runtime = await h.supervisor.runtime('process')
    const info = await runtime.inspect(w.workerId)
    return Number(info?.nativeId)
  }

  it('starts a worker for a new session, which announces itself in agent-state', async () => {
    const id = await h.createSession()
    const state = await h.waitFor(id, latestAgentState, 'the first agent-state')
    expect(state).toMatchObject({ agentId: 'agent', status: 'idle', model: 'echo', restarts: 0 })
    expect(h.supervisor.workerOf(id)).toMatchObject({ runtime: 'process', phase: 'running' })
    const runtime = await h.supervisor.runtime('process')
    const logs = await runtime.logs(h.supervisor.workerOf(id)!.workerId!)
    expect(logs).toContain('"msg":"worker started"')
    expect(logs).toContain(`"sessionId":"${id}"`)
  })

  it('does not start a worker for a session without an agent', async () => {
    const res = await h.request('/api/sessions', { json: { pattern: 'long-running' } })
    const { session } = (await res.json()) as { session: { id: string } }
    expect(h.supervisor.workerOf(session.id)).toBeNull()
  })

  it('answers a user message with batched chunk events and records the tool call it runs', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/count 300')
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toBe(count(300))
    const chunks = ofType(events, 'chunk').filter((e) => e.value.role === 'assistant')
    // 300 words, streamed a word at a time by the model, arrive in far fewer chunk events.
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.length).toBeLessThan(150)

    await h.postMessage(id, '/run echo hello-from-$((6*7)) && pwd')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    const calls = ofType(events, 'tool-call').filter((e) => e.value.name === 'shell')
    expect(calls.map((c) => c.value.status)).toEqual(['pending', 'running', 'succeeded'])
    const final = calls.at(-1)!.value
    expect(final.input).toEqual({ command: 'echo hello-from-$((6*7)) && pwd' })
    expect(final.output.exitCode).toBe(0)
    expect(final.output.output).toContain('hello-from-42')
    expect(answerText(events, 2)).toContain('shell succeeded')
    expect(answerText(events, 2)).toContain('hello-from-42')
    const state = latestAgentState(events)!
    expect(state).toMatchObject({ status: 'idle', turns: 2 })
    expect(state.tokensOut).toBeGreaterThan(0)
    expect(state.costUsd).toBeGreaterThan(0)
  })

  it('keeps tools inside the work dir', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/write notes/a.txt remember the milk')
    await h.waitFor(id, (e) => turnEnded(e, 1), 'write turn')
    await h.postMessage(id, '/read notes/a.txt')
    await h.postMessage(id, '/read ../../../../etc/passwd')
    const events = await h.waitFor(id, (e) => turnEnded(e, 3) && e, 'read turns')
    const calls = ofType(events, 'tool-call').filter((e) => e.value.status === 'succeeded' || e.value.status === 'failed')
    const read = calls.find((c) => c.value.input.path === 'notes/a.txt' && c.value.name === 'read_file')!.value
    expect(read).toMatchObject({ status: 'succeeded', output: 'remember the milk' })
    const outside = calls.find((c) => c.value.input.path === '../../../../etc/passwd')!.value
    expect(outside.status).toBe('failed')
    expect(outside.error).toMatch(/outside the work directory/)
  })

  it('runs terminal input in a real shell under a pty and publishes its output, tied to the command', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: {
        channel: 'terminal',
        data: { id: 'cmd-1', kind: 'input', source: 'admin-user', data: 'echo term-$((6*7)); tput cols; test -t 1 && echo is-a-tty' },
      },
    })
    expect(res.status).toBe(200)
    const output = await h.waitFor(
      id,
      (e) => {
        const text = ofType(e, 'terminal')
          .filter((t) => t.value.kind === 'output' && t.value.commandId === 'cmd-1')
          .map((t) => t.value.data)
          .join('')
        return text.includes('is-a-tty') && text
      },
      'terminal output',
    )
    expect(output).toContain('term-42')
    expect(output).toMatch(/\r\n120\r\n/) // the pty's default width
  })

  it('cancels a turn mid-stream and keeps serving the session', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/slow /count 400')
    await h.waitFor(id, (e) => answerText(e, 1).length > 10, 'some streamed text')
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'cancel', reason: 'user', requestedBy: 'admin-user' } },
    })
    expect(res.status).toBe(200)
    let events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'cancelled turn to end')
    const text = answerText(events, 1)
    expect(count(400).startsWith(text)).toBe(true)
    expect(text.length).toBeLessThan(count(400).length)
    expect(latestAgentState(events)).toMatchObject({ status: 'idle', currentStep: 'turn 1: cancelled' })
    await h.postMessage(id, 'still there?')
    events = await h.waitFor(id, (e) => turnEnded(e, 2) && e, 'turn 2')
    expect(answerText(events, 2)).toBe('Echo: still there?')
  })

  it('obeys a stop request mid-turn: closes the turn, reports stopped, exits, and is removed', async () => {
    const id = await h.createSession()
    await h.postMessage(id, '/slow /count 400')
    await h.waitFor(id, (e) => answerText(e, 1).length > 10, 'some streamed text')
    const pid = await workerPid(id)
    const res = await h.request(`/api/streams?sessionId=${id}`, {
      json: { channel: 'agent-state', data: { kind: 'control', action: 'stop', reason: 'user', requestedBy: 'admin-user' } },
    })
    expect(res.status).toBe(200)
    const events = await h.waitFor(id, (e) => latestAgentState(e)?.status === 'stopped' && e, 'the agent to stop')
    expect(turnEnded(events, 1)).toBe(true)
    expect(answerText(events, 1).length).toBeLessThan(count(400).length)
    await expect.poll(() => isAlive(pid), { timeout: 30_000 }).toBe(false)
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
  })

  it('restarts a SIGKILLed worker, which resumes the turn from the stream with nothing lost or duplicated', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    const firstPid = await workerPid(id)
    await h.postMessage(id, '/slow /count 90')
    await h.waitFor(id, (e) => answerText(e, 1).split(' ').length >= 8, 'the turn to be under way')
    process.kill(firstPid, 'SIGKILL')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'the resumed turn to end')
    expect(answerText(events, 1)).toBe(count(90))
    expect(duplicateImmutableEvents(events)).toEqual([])
    expect(chunkGaps(events)).toEqual([])
    const states = ofType(events, 'agent-state').map((e: Event) => e.value)
    expect(states.some((s) => s.restarts === 1 && /restarted after a crash/.test(s.currentStep ?? ''))).toBe(true)
    expect(latestAgentState(events)).toMatchObject({ status: 'idle', turns: 1, restarts: 1 })
    expect(h.supervisor.workerOf(id)?.restarts).toBe(1)
    const secondPid = await workerPid(id)
    expect(secondPid).not.toBe(firstPid)
    expect(isAlive(firstPid)).toBe(false)
  })

  it('stops and removes the worker and its work dir when the session is terminated', async () => {
    const id = await h.createSession()
    await h.waitFor(id, latestAgentState, 'worker ready')
    const pid = await workerPid(id)
    const runtime = await h.supervisor.runtime('process')
    const info = await runtime.inspect(h.supervisor.workerOf(id)!.workerId!)
    expect(existsSync(info!.workDir)).toBe(true)
    const res = await h.request(`/api/sessions/${id}/terminate`, { json: {} })
    expect(res.status).toBe(200)
    await expect.poll(() => h.supervisor.workerOf(id), { timeout: 30_000 }).toBeNull()
    await expect.poll(() => isAlive(pid), { timeout: 30_000 }).toBe(false)
    expect(existsSync(info!.workDir)).toBe(false)
    expect(await runtime.inspect(info!.id)).toBeNull()
  })
})

describe('process runtime warm pool', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process', warmPool: { process: 1 } })
  })
  afterAll(async () => {
    await h?.close()
  })

  it('hands a new session a started idle worker, and refills the pool', async () => {
    // The pool is created with the runtime at the first reconcile.
    const pool = await h.supervisor.runtime('process').then(() => h.supervisor.pool('process')!)
    await expect.poll(() => pool.available, { timeout: 30_000 }).toBe(1)
    const runtime = await h.supervisor.runtime('process')
    const [warm] = await runtime.list()
    expect(warm.sessionId).toBeNull()
    const id = await h.createSession()
    expect(h.supervisor.workerOf(id)?.workerId).toBe(warm.id)
    await h.postMessage(id, 'hello warm worker')
    const events = await h.waitFor(id, (e) => turnEnded(e, 1) && e, 'turn 1')
    expect(answerText(events, 1)).toBe('Echo: hello warm worker')
    // Served by the claimed worker itself, not by a restart after it failed.
    expect(h.supervisor.workerOf(id)?.restarts).toBe(0)
    expect(ofType(events, 'agent-state').every((e) => e.value.kind !== 'state' || e.value.restarts === 0)).toBe(true)
    await expect.poll(() => pool.available, { timeout: 30_000 }).toBe(1)
  })
})
