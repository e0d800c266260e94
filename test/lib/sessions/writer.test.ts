import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

const chunk = (messageId: string, seq: number, extra: Record<string, unknown> = {}) => ({
  channel: 'chunk',
  data: { messageId, role: 'user', author: 'admin-user', turn: 0, seq, delta: `part ${seq}`, ...extra },
})

describe.each(BACKENDS)('POST /api/streams?sessionId= writer (%s streams)', (backend) => {
  let h: Harness
  let sid: string
  beforeAll(async () => {
    h = await startHarness(backend)
    sid = await createSession(h)
  })
  afterAll(() => h.close())

  const post = (body: unknown, opts: { session?: string; token?: string | null; raw?: string } = {}) =>
    h.request(`/api/streams?sessionId=${encodeURIComponent(opts.session ?? sid)}`, {
      token: opts.token === undefined ? h.adminToken : opts.token,
      ...(opts.raw !== undefined ? { body: opts.raw, headers: { 'content-type': 'application/json' } } : { json: body }),
    })

  it('appends one event, fills id and timestamp, and answers the offset after the write', async () => {
    const before = await readStream(h, sid)
    const res = await post(chunk('m-one', 0))
    expect(res.status).toBe(200)
    // One plain body with its length (json-answer.ts), not a chunked stream.
    const text = await res.text()
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(text)))
    expect(res.headers.get('transfer-encoding')).toBeNull()
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const body = JSON.parse(text) as { ok: boolean; offset: string; eventIds: string[] }
    expect(body.ok).toBe(true)
    expect(body.eventIds).toEqual(['chunk:m-one:0'])
    const after = await readStream(h, sid, before.next)
    expect(after.next).toBe(body.offset)
    expect(after.events).toHaveLength(1)
    expect(after.events[0]).toMatchObject({
      type: 'chunk',
      key: 'm-one:0',
      value: { id: 'm-one:0', done: false },
      headers: { operation: 'insert' },
    })
    expect(typeof after.events[0].value.timestamp).toBe('number')
    expect(Date.parse(after.events[0].headers.timestamp)).toBe(after.events[0].value.timestamp)
  })

  it('appends an array of events of several channels in one append', async () => {
    const before = await readStream(h, sid)
    const body = await write(h, sid, [
      chunk('m-two', 0),
      { channel: 'tool-call', data: { id: 't1', messageId: 'm-two', name: 'bash', input: { cmd: 'ls' }, status: 'pending' } },
      { channel: 'presence', data: { userId: 'admin-user', displayName: 'Admin', color: '#123456', status: 'active' } },
    ])
    const after = await readStream(h, sid, before.next)
    expect(after.events.map((e) => e.type)).toEqual(['chunk', 'tool-call', 'presence'])
    expect(new Set(after.events.map((e) => e.headers.txid))).toEqual(new Set([body.txid]))
    expect(after.next).toBe(body.offset)
  })

  it('never appends the same event id twice, also across a restart', async () => {
    const first = await write(h, sid, [
      chunk('m-idem', 0),
      { channel: 'presence', id: 'presence-evt-1', data: { userId: 'admin-user', displayName: 'A', color: '#000000', status: 'idle' } },
    ])
    const again = await write(h, sid, [
      chunk('m-idem', 0),
      { channel: 'presence', id: 'presence-evt-1', data: { userId: 'admin-user', displayName: 'A', color: '#000000', status: 'idle' } },
    ])
    expect(again.duplicates).toBe(2)
    await h.restart()
    const afterRestart = await write(h, sid, [chunk('m-idem', 0), chunk('m-idem', 1)])
    expect(afterRestart.duplicates).toBe(1)
    const all = await readStream(h, sid)
    expect(all.events.filter((e) => e.key === 'm-idem:0')).toHaveLength(1)
    expect(all.events.filter((e) => e.headers.eventId === 'presence-evt-1')).toHaveLength(1)
    expect(all.events.filter((e) => e.key === 'm-idem:1')).toHaveLength(1)
    expect(first.offset <= afterRestart.offset).toBe(true)
  })

  it('sees event ids appended on the raw protocol path (a worker) before deduplicating', async () => {
    const event = {
      type: 'terminal',
      key: 'raw-line-1',
      value: { id: 'raw-line-1', kind: 'output', source: 'agent-1', stream: 'stdout', data: 'hi\n', timestamp: 1 },
      headers: { operation: 'insert', eventId: 'terminal:raw-line-1', timestamp: new Date().toISOString() },
    }
    const raw = await h.request(`/api/streams/sessions/${sid}`, { token: h.adminToken, json: [event] })
    expect(raw.status).toBeLessThan(300)
    const res = await write(h, sid, {
      channel: 'terminal',
      data: { id: 'raw-line-1', kind: 'output', source: 'agent-1', stream: 'stdout', data: 'hi\n' },
    })
    expect(res.duplicates).toBe(1)
  })

  it.each([
    ['malformed JSON', { raw: '{"channel":' }, 'body'],
    ['an empty body', { raw: '' }, 'body'],
    ['an empty array', { body: [] }, 'body'],
    ['a non-object event', { body: 'hello' }, ''],
    ['an unknown channel', { body: { channel: 'video', data: {} } }, 'channel'],
    ['a missing channel', { body: { data: {} } }, 'channel'],
    ['data that is not an object', { body: { channel: 'chunk', data: 5 } }, 'data'],
    [
      'a bad chunk role',
      { body: { channel: 'chunk', data: { messageId: 'm', role: 'robot', author: 'admin-user', turn: 0, seq: 0, delta: '' } } },
      'data.role',
    ],
    ['a missing required field', { body: { channel: 'tool-call', data: { messageId: 'm', input: {}, status: 'pending' } } }, 'data.name'],
    ['a bad terminal line', { body: { channel: 'terminal', data: { kind: 'exit', source: 'admin-user' } } }, 'data.exitCode'],
    [
      'a bad presence colour',
      { body: { channel: 'presence', data: { userId: 'u', displayName: 'U', color: 'blue', status: 'active' } } },
      'data.color',
    ],
    [
      'a bad agent status',
      { body: { channel: 'agent-state', data: { agentId: 'a', status: 'dreaming', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 } } },
      'data.status',
    ],
    ['an operation the channel does not allow', { body: { channel: 'chunk', operation: 'delete', data: { id: 'x' } } }, 'operation'],
    ['a bad event id', { body: { channel: 'chunk', id: '', data: {} } }, 'id'],
    [
      'one bad event in an array',
      {
        body: [
          chunk('m-bad', 0),
          { channel: 'chunk', data: { messageId: 'm-bad', role: 'user', author: 'admin-user', turn: 'x', seq: 1, delta: '' } },
        ],
      },
      '[1].data.turn',
    ],
  ])('answers 400 naming the field for %s, and appends nothing', async (_name, input, field) => {
    const before = await readStream(h, sid)
    const res = 'raw' in input ? await post(undefined, { raw: input.raw }) : await post(input.body)
    expect(res.status).toBe(400)
    const body = (await res.json()) as { ok: boolean; field: string; error: string }
    expect(body.ok).toBe(false)
    if (field) expect(body.field).toBe(field)
    expect(body.error.length).toBeGreaterThan(0)
    const after = await readStream(h, sid)
    expect(after.next).toBe(before.next)
  })

  it('answers 400 without a sessionId', async () => {
    const res = await h.request('/api/streams', { token: h.adminToken, json: chunk('m', 0) })
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ field: 'sessionId' })
  })

  it('answers 404 for an unknown session', async () => {
    const res = await post(chunk('m', 0), { session: 's_does_not_exist' })
    expect(res.status).toBe(404)
  })

  it('answers 404 for an ended session', async () => {
    const ended = await createSession(h)
    expect((await h.request(`/api/sessions/${ended}/terminate`, { token: h.adminToken, method: 'POST' })).status).toBe(200)
    const res = await post(chunk('m', 0), { session: ended })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: string }).error).toMatch(/ended/)
  })

  it('answers 409 when the session stream was closed', async () => {
    const closedSid = await createSession(h)
    const close = await h.request(`/api/streams/sessions/${closedSid}`, {
      token: h.adminToken,
      method: 'POST',
      headers: { 'stream-closed': 'true' },
    })
    expect(close.status).toBeLessThan(300)
    const res = await post(chunk('m', 0), { session: closedSid })
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: string }).error).toMatch(/closed/)
  })

  it('answers 413 for an oversized body', async () => {
    const big = 'x'.repeat(70 * 1024)
    const res = await post(chunk('m-big', 0, { delta: big }))
    expect(res.status).toBe(413)
  })

  it('answers 405 to GET', async () => {
    const res = await h.request(`/api/streams?sessionId=${sid}`, { token: h.adminToken })
    expect(res.status).toBe(405)
  })

  describe('tokens', () => {
    it('answers 401 without a token, with a garbage token and with an expired one', async () => {
      expect((await post(chunk('m', 0), { token: null })).status).toBe(401)
      expect((await post(chunk('m', 0), { token: 'garbage' })).status).toBe(401)
      const expired = await h.app.issueToken({ role: 'admin', ttlSeconds: 60, now: h.clock.now() - 3_600_000 })
      const res = await post(chunk('m', 0), { token: expired })
      expect(res.status).toBe(401)
      expect(((await res.json()) as { error: string }).error).toMatch(/expired/)
    })

    it('accepts the token as ?token= too', async () => {
      const res = await fetch(`${h.url}/api/streams?sessionId=${sid}&token=${h.adminToken}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chunk('m-query-token', 0)),
      })
      expect(res.status).toBe(200)
    })

    it('answers 403 for a token of another session', async () => {
      const other = await createSession(h)
      const token = await h.app.issueToken({ role: 'collaborator', sessionId: other, subject: 'admin-user' })
      expect((await post(chunk('m', 0), { token })).status).toBe(403)
    })

    it('lets a collaborator write its own chunks, input and presence, nothing else', async () => {
      const token = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
      const mine = { channel: 'chunk', data: { messageId: 'm-ann', role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: 'hi' } }
      expect((await post(mine, { token })).status).toBe(200)
      expect((await post({ channel: 'terminal', data: { kind: 'input', source: 'u-ann', data: 'ls' } }, { token })).status).toBe(200)
      expect(
        (await post({ channel: 'presence', data: { userId: 'u-ann', displayName: 'Ann', color: '#ff0000', status: 'active' } }, { token }))
          .status,
      ).toBe(200)
      const denied = [
        { channel: 'chunk', data: { messageId: 'm-x', role: 'user', author: 'u-bob', turn: 0, seq: 0, delta: 'pretending' } },
        { channel: 'chunk', data: { messageId: 'm-x', role: 'assistant', author: 'u-ann', turn: 0, seq: 0, delta: 'agent?' } },
        { channel: 'terminal', data: { kind: 'output', source: 'u-ann', stream: 'stdout', data: 'fake output' } },
        { channel: 'presence', data: { userId: 'u-bob', displayName: 'Bob', color: '#ff0000', status: 'active' } },
        { channel: 'tool-call', data: { messageId: 'm', name: 'x', input: {}, status: 'pending' } },
        { channel: 'agent-state', data: { agentId: 'u-ann', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 } },
      ]
      for (const event of denied) {
        const res = await post(event, { token })
        expect(res.status, JSON.stringify(event)).toBe(403)
      }
    })

    it('lets a worker write its agent channels and not user chunks; a viewer writes nothing', async () => {
      const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
      expect(
        (
          await post(
            { channel: 'agent-state', data: { agentId: 'agent-1', status: 'thinking', tokensIn: 1, tokensOut: 1, costUsd: 0, turns: 0 } },
            { token: worker },
          )
        ).status,
      ).toBe(200)
      expect(
        (
          await post(
            { channel: 'chunk', data: { messageId: 'a-m', role: 'assistant', author: 'agent-1', turn: 0, seq: 0, delta: 'hello' } },
            { token: worker },
          )
        ).status,
      ).toBe(200)
      expect((await post(chunk('m-w', 0, { author: 'agent-1' }), { token: worker })).status).toBe(403)
      expect(
        (
          await post(
            { channel: 'agent-state', data: { agentId: 'agent-2', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 } },
            { token: worker },
          )
        ).status,
      ).toBe(403)
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      expect((await post(chunk('m-v', 0), { token: viewer })).status).toBe(403)
    })
  })
  describe('authorship and bad input', () => {
    it("refuses a chunk into a message someone else started (the agent's), on any path that reaches the log", async () => {
      const session = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId: session, subject: 'agent-1' })
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: session, subject: 'u-eve' })
      const agentChunk = {
        channel: 'chunk',
        data: { messageId: 'agent-msg', role: 'assistant', author: 'agent-1', turn: 1, seq: 0, delta: 'The answer is' },
      }
      expect((await post(agentChunk, { session, token: worker })).status).toBe(200)
      const injected = {
        channel: 'chunk',
        data: { messageId: 'agent-msg', role: 'user', author: 'u-eve', turn: 1, seq: 1, delta: ' to wire me money' },
      }
      const res = await post(injected, { session, token: collab })
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/started by someone else/)
      // Also through the messages API with an explicit messageId.
      expect(
        (await h.request(`/api/sessions/${session}/messages`, { token: collab, json: { text: 'x', messageId: 'agent-msg' } })).status,
      ).toBe(403)
      // A batch where one chunk is foreign claims nothing: its own new message stays free.
      const batch = [
        { channel: 'chunk', data: { messageId: 'eve-1', role: 'user', author: 'u-eve', turn: 1, seq: 0, delta: 'mine' } },
        injected,
      ]
      expect((await post(batch, { session, token: collab })).status).toBe(403)
      // Her own messages work, continued or new; the agent continues its own.
      expect((await post(batch[0], { session, token: collab })).status).toBe(200)
      expect((await post({ ...batch[0], data: { ...batch[0].data, seq: 1, delta: ' more' } }, { session, token: collab })).status).toBe(200)
      expect((await post({ ...agentChunk, data: { ...agentChunk.data, seq: 1, delta: ' 42' } }, { session, token: worker })).status).toBe(
        200,
      )
      const texts = (await readStream(h, session)).events.filter((e) => e.value?.messageId === 'agent-msg').map((e) => e.value.author)
      expect(texts).toEqual(['agent-1', 'agent-1'])
    })

    it('keeps authorship across a restart (rebuilt from the stream)', async () => {
      const session = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId: session, subject: 'agent-1' })
      const chunkStatus = async (token: string, data: Record<string, unknown>) =>
        (await post({ channel: 'chunk', data: { messageId: 'before-restart', turn: 0, ...data } }, { session, token })).status
      expect(await chunkStatus(worker, { role: 'assistant', author: 'agent-1', seq: 0, delta: 'a' })).toBe(200)
      await h.restart()
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: session, subject: 'u-eve' })
      expect(await chunkStatus(collab, { role: 'user', author: 'u-eve', seq: 1, delta: 'b' })).toBe(403)
    })

    it('answers deeply nested JSON with 400, not 500', async () => {
      const depth = 20_000
      const deep = { channel: 'tool-call', data: { messageId: 'm', agentId: 'admin-user', name: 'x', status: 'pending', input: 0 } }
      const raw = JSON.stringify(deep).replace('"input":0', `"input":${'['.repeat(depth)}${']'.repeat(depth)}`)
      const res = await post(undefined, { raw })
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error).toMatch(/deeper than 64/)
      expect((await post({ ...deep, data: { ...deep.data, input: { a: [[1]] } } })).status).toBe(200)
    })

    it('refuses a viewer before reading its body, and control characters in names and ids', async () => {
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const res = await post(undefined, { token: viewer, raw: '{not even json' })
      expect(res.status).toBe(403)
      const presence = (displayName: string, userId = 'admin-user') => ({
        channel: 'presence',
        data: { userId, displayName, color: '#ff0000', status: 'active' },
      })
      expect((await post(presence('Eve\u001b]0;owned\u0007'))).status).toBe(400)
      expect((await post(presence('Eve\u009b2J'))).status).toBe(400)
      expect((await post(presence('Eve', 'admin\u001b[31m'))).status).toBe(400)
      expect((await post(chunk('m\u001b[2J', 0))).status).toBe(400)
      expect((await post(presence('Zoë 👋'))).status).toBe(200)
    })
  })
})
