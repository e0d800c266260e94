/**
 * Isolation: the token a running worker was started with (read from the worker process's own
 * environment) writes only its own session's agent channels, as its own agent.
 */
import { DurableStream, IdempotentProducer } from '@durable-streams/client'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { latestAgentState, startWorkerHarness, type WorkerHarness } from './harness'

describe('worker token isolation', { timeout: 120_000 }, () => {
  let h: WorkerHarness
  let own: string
  let other: string
  let token: string

  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
    own = await h.createSession()
    other = await h.createSession()
    await h.waitFor(own, latestAgentState, 'worker ready')
    const runtime = await h.supervisor.runtime('process')
    const info = await runtime.inspect(h.supervisor.workerOf(own)!.workerId!)
    const environ = readFileSync(`/proc/${info!.nativeId}/environ`, 'utf8').split('\0')
    token = environ.find((e) => e.startsWith('TETHER_WORKER_TOKEN='))!.slice('TETHER_WORKER_TOKEN='.length)
    expect(environ.find((e) => e.startsWith('TETHER_SESSION_ID='))).toBe(`TETHER_SESSION_ID=${own}`)
  })
  afterAll(async () => {
    await h?.close()
  })

  const now = () => Date.now()
  const envelope = (type: string, value: Record<string, unknown>, operation = 'insert') => ({
    type,
    key: value.id,
    value: { timestamp: now(), ...value },
    headers: { operation, timestamp: new Date().toISOString() },
  })
  const assistantChunk = (id: string) =>
    envelope('chunk', { id: `${id}:0`, messageId: id, role: 'assistant', author: 'agent', turn: 0, seq: 0, delta: 'x', done: true })

  async function rawAppend(sessionId: string, body: unknown): Promise<number> {
    const res = await h.request(`/api/streams/sessions/${sessionId}`, { token, json: body })
    await res.body?.cancel()
    return res.status
  }

  it('may write its own agent channels in its own session (the control case)', async () => {
    expect(await rawAppend(own, [assistantChunk('iso-ok')])).toBeLessThan(300)
  })

  it('cannot read or write another session', async () => {
    const read = await h.request(`/api/streams/sessions/${other}?offset=-1`, { token })
    expect(read.status).toBe(403)
    expect(await rawAppend(other, [assistantChunk('iso-1')])).toBe(403)
    const writer = await h.request(`/api/streams?sessionId=${other}`, {
      token,
      json: { channel: 'chunk', data: { messageId: 'iso-2', role: 'assistant', author: 'agent', turn: 0, seq: 0, delta: 'x', done: true } },
    })
    expect(writer.status).toBe(403)
    // Through an idempotent producer, as the worker itself publishes.
    const handle = new DurableStream({
      url: `${h.url}/api/streams/sessions/${other}`,
      headers: { authorization: `Bearer ${token}` },
      contentType: 'application/json',
    })
    const errors: Error[] = []
    const statuses: number[] = []
    const producer = new IdempotentProducer(handle, 'agent:agent', {
      epoch: Date.now(),
      onError: (e) => errors.push(e),
      fetch: async (input, init) => {
        const res = await fetch(input, init)
        statuses.push(res.status)
        return res
      },
    })
    producer.append(JSON.stringify(assistantChunk('iso-3')))
    await producer.detach()
    expect(statuses).toEqual([403])
    expect(errors).toHaveLength(1)
    const otherEvents = await h.events(other)
    expect(otherEvents.some((e) => String(e.key).startsWith('iso-'))).toBe(false)
  })

  it("cannot write a user's channels or speak for someone else in its own session", async () => {
    const forbidden = [
      envelope('chunk', {
        id: 'u1:0',
        messageId: 'u1',
        role: 'user',
        author: 'admin-user',
        turn: 0,
        seq: 0,
        delta: 'fake user',
        done: true,
      }),
      envelope('chunk', {
        id: 'a2:0',
        messageId: 'a2',
        role: 'assistant',
        author: 'another-agent',
        turn: 0,
        seq: 0,
        delta: 'x',
        done: true,
      }),
      envelope(
        'presence',
        { id: 'admin-user', userId: 'admin-user', displayName: 'A', color: '#112233', status: 'active', lastSeen: now() },
        'upsert',
      ),
      envelope('terminal', { id: 'ti-1', kind: 'input', source: 'admin-user', data: 'rm -rf /' }),
      envelope('agent-state', { id: 'control:iso', kind: 'control', action: 'stop', reason: 'x', requestedBy: 'admin-user' }, 'upsert'),
      envelope(
        'agent-state',
        {
          id: 'other-agent',
          kind: 'state',
          agentId: 'other-agent',
          status: 'idle',
          tokensIn: 0,
          tokensOut: 0,
          costUsd: 0,
          turns: 0,
          lastHeartbeat: now(),
        },
        'upsert',
      ),
    ]
    for (const event of forbidden) expect(await rawAppend(own, [event]), JSON.stringify(event).slice(0, 80)).toBe(403)
    const events = await h.events(own)
    expect(events.some((e) => ['u1:0', 'a2:0', 'ti-1', 'control:iso', 'other-agent'].includes(e.key))).toBe(false)
  })

  it('cannot create, close or delete streams, nor manage sessions', async () => {
    const put = await h.request(`/api/streams/sessions/${own}-x`, { token, method: 'PUT' })
    expect(put.status).toBe(403)
    const del = await h.request(`/api/streams/sessions/${other}`, { token, method: 'DELETE' })
    expect(del.status).toBe(403)
    const terminate = await h.request(`/api/sessions/${other}/terminate`, { token, json: {} })
    expect(terminate.status).toBe(403)
    const create = await h.request('/api/sessions', { token, json: { pattern: 'long-running' } })
    expect(create.status).toBe(403)
  })
})
