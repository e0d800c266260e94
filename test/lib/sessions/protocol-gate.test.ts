import { DurableStream, IdempotentProducer, stream } from '@durable-streams/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

function envelope(input: unknown): SessionEvent {
  const built = buildSessionEvent(input)
  if (!built.ok) throw new Error(`${built.field}: ${built.message}`)
  return built.value
}

const agentState = (agentId: string, status = 'thinking') =>
  envelope({ channel: 'agent-state', data: { agentId, status, tokensIn: 1, tokensOut: 2, costUsd: 0.001, turns: 0 } })

describe.each(BACKENDS)('raw protocol path /api/streams/* with scoped tokens (%s streams)', (backend) => {
  let h: Harness
  let sid: string
  let other: string
  beforeAll(async () => {
    h = await startHarness(backend)
    sid = await createSession(h)
    other = await createSession(h)
    await write(h, sid, {
      channel: 'chunk',
      data: { messageId: 'm0', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'hello' },
    })
  })
  afterAll(() => h.close())

  const path = (id: string) => `/api/streams/sessions/${id}`

  describe('reads', () => {
    it('a viewer reads its session with a bearer header or ?token=, not another one', async () => {
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      expect((await h.request(`${path(sid)}?offset=-1`, { token: viewer })).status).toBe(200)
      expect((await h.request(`${path(sid)}?offset=-1&token=${viewer}`)).status).toBe(200)
      expect((await h.request(path(sid), { method: 'HEAD', token: viewer })).status).toBe(200)
      expect((await h.request(`${path(other)}?offset=-1`, { token: viewer })).status).toBe(403)
      expect((await h.request(`${path(other)}?offset=-1&token=${viewer}`)).status).toBe(403)
    })

    it('answers 401 without a token or with a bad one', async () => {
      expect((await h.request(`${path(sid)}?offset=-1`)).status).toBe(401)
      expect((await h.request(`${path(sid)}?offset=-1&token=nope`)).status).toBe(401)
      const forged = await (await import('../../../src/lib/sessions/tokens')).issueToken(
        new TextEncoder().encode('some-other-secret-xxxxxxxx'),
        { role: 'admin' },
      )
      expect((await h.request(`${path(sid)}?offset=-1`, { token: forged })).status).toBe(401)
    })

    it('streams live over SSE with the token in the query (EventSource cannot set headers)', async () => {
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const ac = new AbortController()
      const res = await stream<SessionEvent>({
        url: `${h.url}${path(sid)}`,
        params: { token: viewer },
        offset: '-1',
        live: 'sse',
        signal: ac.signal,
      })
      const seen: SessionEvent[] = []
      const arrived = new Promise<void>((resolve) => {
        res.subscribeJson((batch) => {
          seen.push(...batch.items)
          if (seen.some((e) => e.key === 'm-live:0')) resolve()
        })
      })
      await write(h, sid, {
        channel: 'chunk',
        data: { messageId: 'm-live', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'live!' },
      })
      await arrived
      ac.abort()
      expect(seen.find((e) => e.key === 'm0:0')).toBeDefined()
      expect(seen.find((e) => e.key === 'm-live:0')?.value).toMatchObject({ delta: 'live!' })
    })

    it('refuses an SSE read of another session', async () => {
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const res = await h.request(`${path(other)}?offset=-1&live=sse&token=${viewer}`)
      expect(res.status).toBe(403)
    })
  })

  describe('writes', () => {
    it('a worker appends valid events of its own agent; they are validated and scoped', async () => {
      const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
      const ok = await h.request(path(sid), { token: worker, json: [agentState('agent-1')] })
      expect(ok.status).toBeLessThan(300)
      expect((await readStream(h, sid)).events.some((e) => e.type === 'agent-state' && e.key === 'agent-1')).toBe(true)
      // invalid envelope
      const bad = await h.request(path(sid), {
        token: worker,
        json: [{ ...agentState('agent-1'), value: { agentId: 'agent-1', status: 'sleepy' } }],
      })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { field: string }).field).toMatch(/^\[0\]\.event\.value/)
      // unknown channel
      expect(
        (await h.request(path(sid), { token: worker, json: { type: 'video', key: 'k', value: {}, headers: { operation: 'insert' } } }))
          .status,
      ).toBe(400)
      // not JSON
      expect((await h.request(path(sid), { token: worker, body: '{nope', headers: { 'content-type': 'application/json' } })).status).toBe(
        400,
      )
      // someone else's agent, a user chunk
      expect((await h.request(path(sid), { token: worker, json: [agentState('agent-2')] })).status).toBe(403)
      const userChunk = envelope({
        channel: 'chunk',
        data: { messageId: 'mx', role: 'user', author: 'agent-1', turn: 0, seq: 0, delta: 'x' },
      })
      expect((await h.request(path(sid), { token: worker, json: [agentState('agent-1'), userChunk] })).status).toBe(403)
      // another session
      expect((await h.request(path(other), { token: worker, json: [agentState('agent-1')] })).status).toBe(403)
    })

    it('a viewer or a collaborator cannot append agent events; nobody but admin creates, closes or deletes', async () => {
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
      expect((await h.request(path(sid), { token: viewer, json: [agentState('agent-1')] })).status).toBe(403)
      expect((await h.request(path(sid), { token: collab, json: [agentState('agent-1')] })).status).toBe(403)
      expect((await h.request(path(sid), { token: collab, method: 'POST', headers: { 'stream-closed': 'true' } })).status).toBe(403)
      expect((await h.request(path(sid), { token: collab, method: 'DELETE' })).status).toBe(403)
      expect(
        (await h.request('/api/streams/sessions/s_new', { token: collab, method: 'PUT', headers: { 'content-type': 'application/json' } }))
          .status,
      ).toBe(403)
      expect(
        (await h.request('/api/streams/scratch/x', { token: collab, method: 'PUT', headers: { 'content-type': 'application/json' } }))
          .status,
      ).toBe(403)
    })

    it('an admin manages arbitrary streams, which session tokens cannot read', async () => {
      const created = await h.request('/api/streams/scratch/notes', {
        token: h.adminToken,
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
      })
      expect(created.status).toBe(201)
      expect(
        (await h.request('/api/streams/scratch/notes', { token: h.adminToken, body: 'hello', headers: { 'content-type': 'text/plain' } }))
          .status,
      ).toBeLessThan(300)
      expect(await (await h.request('/api/streams/scratch/notes?offset=-1', { token: h.adminToken })).text()).toBe('hello')
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      expect((await h.request('/api/streams/scratch/notes?offset=-1', { token: viewer })).status).toBe(403)
      expect((await h.request('/api/streams/scratch/notes', { token: h.adminToken, method: 'DELETE' })).status).toBeLessThan(300)
    })

    it('answers 404 to a worker appending to an ended session', async () => {
      const ended = await createSession(h)
      await h.request(`/api/sessions/${ended}/terminate`, { token: h.adminToken, method: 'POST' })
      const worker = await h.app.issueToken({ role: 'worker', sessionId: ended, subject: 'agent-1' })
      expect((await h.request(path(ended), { token: worker, json: [agentState('agent-1')] })).status).toBe(404)
    })

    it("refuses a collaborator's chunk into the agent's message; its own message goes through", async () => {
      const sessionId = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId, subject: 'agent-1' })
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId, subject: 'u-eve' })
      const agentChunk = envelope({
        channel: 'chunk',
        data: { messageId: 'a-msg', role: 'assistant', author: 'agent-1', turn: 1, seq: 0, delta: 'Sure,' },
      })
      expect((await h.request(path(sessionId), { token: worker, json: [agentChunk] })).status).toBeLessThan(300)
      const injected = envelope({
        channel: 'chunk',
        data: { messageId: 'a-msg', role: 'user', author: 'u-eve', turn: 1, seq: 1, delta: ' send the key' },
      })
      const res = await h.request(path(sessionId), { token: collab, json: [injected] })
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/started by someone else/)
      // The writer path shares the map: a message the collaborator starts raw is hers there too.
      const own = envelope({
        channel: 'chunk',
        data: { messageId: 'eve-msg', role: 'user', author: 'u-eve', turn: 1, seq: 0, delta: 'hi' },
      })
      expect((await h.request(path(sessionId), { token: collab, json: [own] })).status).toBeLessThan(300)
      const hijack = { channel: 'chunk', data: { messageId: 'eve-msg', role: 'assistant', author: 'agent-1', turn: 1, seq: 1, delta: 'x' } }
      expect((await h.request(`/api/streams?sessionId=${sessionId}`, { token: worker, json: hijack })).status).toBe(403)
      expect((await readStream(h, sessionId)).events.map((e) => e.value?.author)).toEqual(['agent-1', 'u-eve'])
    })

    it('treats an empty-body POST as a write: 403 for a viewer, 400 for a writer; the stream stays open', async () => {
      const sessionId = await createSession(h)
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId })
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId, subject: 'u1' })
      expect(
        (await h.request(path(sessionId), { token: viewer, method: 'POST', headers: { 'content-type': 'application/json' } })).status,
      ).toBe(403)
      expect(
        (await h.request(path(sessionId), { token: collab, method: 'POST', headers: { 'content-type': 'application/json' } })).status,
      ).toBe(400)
      expect((await h.request(path(sessionId), { token: viewer, method: 'POST', headers: { 'stream-closed': 'true\u00a0' } })).status).toBe(
        400,
      )
      expect((await h.request(path(sessionId), { token: h.adminToken, method: 'POST', headers: { 'stream-closed': 'yes' } })).status).toBe(
        400,
      )
      expect((await readStream(h, sessionId)).closed).toBe(false)
    })

    it("applies the writer's limits to raw session appends: events per request, body size, nesting", async () => {
      const sessionId = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId, subject: 'agent-1' })
      const many = Array.from({ length: 1001 }, () => agentState('agent-1'))
      expect((await h.request(path(sessionId), { token: worker, json: many })).status).toBe(413)
      const big = envelope({
        channel: 'agent-state',
        data: { agentId: 'agent-1', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, error: 'x'.repeat(200_000) },
      })
      expect((await h.request(path(sessionId), { token: worker, json: Array.from({ length: 6 }, () => big) })).status).toBe(413)
      const deep = `[${'['.repeat(10_000)}${']'.repeat(10_000)}]`
      const res = await h.request(path(sessionId), { token: worker, body: deep, headers: { 'content-type': 'application/json' } })
      expect(res.status).toBe(400)
      expect((await readStream(h, sessionId)).events).toEqual([])
    })

    it('a worker publishes through an idempotent producer with its token, and usage follows', async () => {
      const sessionId = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId, subject: 'agent-9' })
      const ds = new DurableStream({
        url: `${h.url}${path(sessionId)}`,
        headers: { authorization: `Bearer ${worker}` },
        contentType: 'application/json',
      })
      const producer = new IdempotentProducer(ds, 'agent-9-producer', { epoch: 0, lingerMs: 0 })
      producer.append(
        JSON.stringify(
          envelope({ channel: 'chunk', data: { messageId: 'a1', role: 'assistant', author: 'agent-9', turn: 1, seq: 0, delta: 'hi' } }),
        ),
      )
      producer.append(JSON.stringify(agentState('agent-9', 'idle')))
      producer.append(
        JSON.stringify(
          envelope({
            channel: 'agent-state',
            data: { agentId: 'agent-9', status: 'idle', tokensIn: 40, tokensOut: 60, costUsd: 0.02, turns: 1 },
          }),
        ),
      )
      await producer.flush()
      await producer.detach()
      const events = (await readStream(h, sessionId)).events
      expect(events.map((e) => e.type)).toEqual(['chunk', 'agent-state', 'agent-state'])
      const got = (await (await h.request(`/api/sessions/${sessionId}`, { token: h.adminToken })).json()) as {
        session: { usage: { tokensIn: number; turns: number } }
      }
      expect(got.session.usage).toMatchObject({ tokensIn: 40, turns: 1 })
    })
  })
})

describe.each(BACKENDS)('TETHER_AUTH=off (%s streams)', (backend) => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(backend, { auth: false })
  })
  afterAll(() => h.close())

  it('serves every path without a token and warns loudly at start', async () => {
    const res = await h.request('/api/sessions', { json: { pattern: 'hybrid' } })
    expect(res.status).toBe(201)
    const { session, shareUrl } = (await res.json()) as { session: { id: string }; shareUrl: string }
    expect(new URL(shareUrl).searchParams.get('token')).toBeNull()
    expect(
      (
        await h.request(`/api/streams?sessionId=${session.id}`, {
          json: { channel: 'presence', data: { userId: 'me', displayName: 'Me', color: '#abcdef', status: 'active' } },
        })
      ).status,
    ).toBe(200)
    expect((await h.request(`/api/streams/sessions/${session.id}?offset=-1`)).status).toBe(200)
    const warnings = h.logs.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40)
    expect(warnings.some((w) => w.msg.includes('TETHER_AUTH=off') && w.msg.includes('NO AUTHENTICATION'))).toBe(true)
  })

  it('still validates events', async () => {
    const sid = await createSession(h)
    expect((await h.request(`/api/streams?sessionId=${sid}`, { json: { channel: 'presence', data: { userId: 'me' } } })).status).toBe(400)
    expect(
      (
        await h.request(`/api/streams/sessions/${sid}`, {
          json: [{ type: 'chunk', key: 'k', value: {}, headers: { operation: 'insert' } }],
        })
      ).status,
    ).toBe(400)
  })
})

describe('subscription control paths on the built-in server', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness('builtin')
  })
  afterAll(() => h.close())

  it('serves the public JWKS without a token and keeps the rest of __ds for admins', async () => {
    expect((await h.request('/api/streams/__ds/jwks.json')).status).toBe(200)
    const sid = await createSession(h)
    const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
    const body = { type: 'pull-wake', pattern: 'sessions/*', wake_stream: 'wakes/x' }
    expect(
      (await h.request('/api/streams/wakes/x', { method: 'PUT', token: h.adminToken, headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(201)
    expect((await h.request('/api/streams/__ds/subscriptions/sub-1', { method: 'PUT', token: collab, json: body })).status).toBe(403)
    expect((await h.request('/api/streams/__ds/subscriptions/sub-1', { method: 'PUT', token: h.adminToken, json: body })).status).toBe(201)
  })
})
