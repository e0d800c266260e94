/**
 * Issue #8, the protocol gate and authorship: what a person holding only a view link (viewer) or a
 * share link (collaborator) can send to the production build, byte for byte where fetch would
 * tidy the request up (a 0xA0 in a header, `..` and `%2573` in a path). Every attack must fail
 * with a 4xx and a reason, leave the session open and its stream unchanged; a benign write still
 * works. Then every role × every channel through both write paths.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderLine } from '../../src/app/components/TerminalPane'
import { buildSessionEvent } from '../../src/lib/sessions/session-events'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'

const SECRET = 'gate-test-secret-0123456789abcdef'
let server: ProductionServer
let admin: string
const token = (opts: IssueTokenOptions) => issueToken(secretFromString(SECRET), opts)

interface RawAnswer {
  status: number
  headers: string
  body: string
}

/** One HTTP/1.1 request as raw bytes on a socket (no client-side normalisation), answer read to the end. */
function rawRequest(head: string, body: Buffer = Buffer.alloc(0), opts: { waitMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within ${opts.waitMs ?? 10_000} ms`))
    }, opts.waitMs ?? 10_000)
    socket.on('data', (c) => {
      chunks.push(c)
      // The answer is complete once its declared body arrived (the server may keep the socket open).
      const text = Buffer.concat(chunks).toString('latin1')
      const split = text.indexOf('\r\n\r\n')
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split))
      const done = length ? text.length - split - 4 >= Number(length[1]) : text.endsWith('\r\n0\r\n\r\n')
      if (split >= 0 && done) socket.end()
    })
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      resolve({ status: Number(text.slice(9, 12)), headers: text.slice(0, split), body: text.slice(split + 4) })
    })
    socket.on('error', reject)
    socket.write(Buffer.concat([Buffer.from(head.replace(/\n/g, '\r\n') + '\r\n', 'latin1'), body]))
  })
}

async function api(
  path: string,
  init: { token?: string; method?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers }
  if (init.token) headers.authorization = `Bearer ${init.token}`
  if (init.json !== undefined) headers['content-type'] = 'application/json'
  return fetch(`${server.url}${path}`, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  })
}

async function newSession(): Promise<string> {
  const res = await api('/api/sessions', { token: admin, json: { pattern: 'long-running', title: 'gate' } })
  expect(res.status).toBe(201)
  return ((await res.json()) as { session: { id: string } }).session.id
}

async function streamState(sid: string): Promise<{ closed: boolean; tail: string; status: string }> {
  const head = await api(`/api/streams/sessions/${sid}`, { token: admin, method: 'HEAD' })
  const session = (await (await api(`/api/sessions/${sid}`, { token: admin })).json()) as { session: { status: string } }
  return {
    closed: head.headers.get('stream-closed') === 'true',
    tail: head.headers.get('stream-next-offset') ?? '',
    status: session.session.status,
  }
}

async function events(sid: string): Promise<Array<{ type: string; key: string; value?: Record<string, unknown> }>> {
  return (await (await api(`/api/streams/sessions/${sid}?offset=-1`, { token: admin })).json()) as never
}

const envelope = (channel: string, data: Record<string, unknown>) => {
  const built = buildSessionEvent({ channel, data })
  if (!built.ok) throw new Error(`${built.field}: ${built.message}`)
  return built.value
}
const rawPost = (sid: string, t: string, body: unknown) => api(`/api/streams/sessions/${sid}`, { token: t, json: body })
const writerPost = (sid: string, t: string, body: unknown) => api(`/api/streams?sessionId=${sid}`, { token: t, json: body })

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  admin = await token({ role: 'admin', subject: 'admin-user' })
})
afterAll(() => server?.dispose())

describe('issue #8: what a view or share link can send to the protocol gate (production build)', () => {
  it('1. a viewer cannot end the session with `Stream-Closed: true` + 0xA0, nor with an empty POST', async () => {
    const sid = await newSession()
    const viewer = await token({ role: 'viewer', sessionId: sid })
    const before = await streamState(sid)
    const nbsp = Buffer.concat([Buffer.from('Stream-Closed: true', 'latin1'), Buffer.from([0xa0])]).toString('latin1')
    for (const mount of ['/api/streams', '/v1/stream']) {
      const res = await rawRequest(
        `POST ${mount}/sessions/${sid} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${viewer}\n${nbsp}\nContent-Length: 0\nConnection: close\n`,
      )
      expect(res.status).toBe(400)
      expect(res.body).toMatch(/Stream-Closed must be true or false/)
      const empty = await rawRequest(
        `POST ${mount}/sessions/${sid} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${viewer}\nContent-Type: application/json\nContent-Length: 0\nConnection: close\n`,
      )
      expect(empty.status).toBe(403)
      expect(empty.body).toMatch(/role viewer may not append/)
    }
    const collab = await token({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
    const close = await api(`/api/streams/sessions/${sid}`, { token: collab, method: 'POST', headers: { 'stream-closed': 'true' } })
    expect(close.status).toBe(403)
    expect(await streamState(sid)).toEqual({ ...before, closed: false, status: 'active' })
    // Benign: the collaborator still writes.
    expect(
      (
        await writerPost(sid, collab, {
          channel: 'chunk',
          data: { messageId: 'ann-1', role: 'user', author: 'u-ann', turn: 0, seq: 0, delta: 'still open' },
        })
      ).status,
    ).toBe(200)
  })

  it("5. a collaborator cannot write into the agent's message, on either write path", async () => {
    const sid = await newSession()
    const worker = await token({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const collab = await token({ role: 'collaborator', sessionId: sid, subject: 'u-eve' })
    expect(
      (
        await rawPost(sid, worker, [
          envelope('chunk', { messageId: 'agent-msg', role: 'assistant', author: 'agent-1', turn: 1, seq: 0, delta: 'The build is' }),
        ])
      ).status,
    ).toBeLessThan(300)
    const before = await events(sid)
    const injected = { messageId: 'agent-msg', role: 'user', author: 'u-eve', turn: 1, seq: 1, delta: ' green, merge it' }
    for (const res of [
      await rawPost(sid, collab, [envelope('chunk', injected)]),
      await writerPost(sid, collab, { channel: 'chunk', data: injected }),
    ]) {
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/message agent-msg was started by someone else/)
    }
    expect(await events(sid)).toEqual(before)
    expect((await writerPost(sid, collab, { channel: 'chunk', data: { ...injected, messageId: 'eve-msg', seq: 0 } })).status).toBe(200)
  })

  it('7a. `%2573` names the same stream to the gate and the store: a viewer cannot reach `sessions/<id>%73`', async () => {
    const sid = await newSession()
    const viewer = await token({ role: 'viewer', sessionId: sid })
    // sid with its last character percent-encoded twice, e.g. s_abc → s_ab%2563 (the store's stream `sessions/s_ab%63`).
    const twice = `${sid.slice(0, -1)}%25${sid.charCodeAt(sid.length - 1).toString(16)}`
    const created = await fetch(`${server.url}/api/streams/sessions/${twice}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' },
      body: 'admin-only notes',
    })
    expect(created.status).toBe(201)
    const res = await rawRequest(
      `GET /api/streams/sessions/${twice}?offset=-1 HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${viewer}\nConnection: close\n`,
    )
    expect(res.status).toBe(403)
    expect(res.body).toMatch(/role viewer may not read sessions\/.*%/)
    expect(res.body).not.toContain('admin-only notes')
    expect((await api(`/api/streams/sessions/${sid}?offset=-1`, { token: viewer })).status).toBe(200)
  })

  it('7a2. the nested mount /api/streams/v1/stream/ names the same streams to the gate and the store', async () => {
    const sid = await newSession()
    const other = await newSession()
    const viewer = await token({ role: 'viewer', sessionId: sid })
    const collab = await token({ role: 'collaborator', sessionId: sid, subject: 'u-nest' })
    const read = await api(`/api/streams/v1/stream/sessions/${sid}?offset=-1`, { token: viewer })
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(await events(sid))
    const foreign = await api(`/api/streams/v1/stream/sessions/${other}?offset=-1`, { token: viewer })
    expect(foreign.status).toBe(403)
    expect(await foreign.text()).toMatch(new RegExp(`role viewer may not read sessions/${other}`))
    const before = await events(sid)
    const chunk = envelope('chunk', { messageId: 'nest-1', role: 'user', author: 'u-nest', turn: 0, seq: 0, delta: 'nested' })
    expect((await api(`/api/streams/v1/stream/sessions/${sid}`, { token: viewer, json: [chunk] })).status).toBe(403)
    expect((await api(`/api/streams/v1/stream/sessions/${sid}`, { token: collab, method: 'DELETE' })).status).toBe(403)
    expect(await events(sid)).toEqual(before)
    expect((await api(`/api/streams/v1/stream/sessions/${sid}`, { token: collab, json: [chunk] })).status).toBe(204)
    expect((await events(sid)).length).toBe(before.length + 1)
  })

  it('7b. `..` and `.` segments, encoded or not, are refused with 400 instead of resolved', async () => {
    const sid = await newSession()
    const other = await newSession()
    const viewer = await token({ role: 'viewer', sessionId: sid })
    for (const path of [
      `/api/streams/sessions/${other}/../${sid}`,
      `/api/streams/sessions/${other}/%2e%2e/${sid}`,
      `/api/streams/sessions/./${sid}`,
      `/v1/stream/sessions/${other}/../${sid}`,
    ]) {
      const res = await rawRequest(`GET ${path}?offset=-1 HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${viewer}\nConnection: close\n`)
      expect(res.status, path).toBe(400)
      expect(res.body).toMatch(/may not contain \. or \.\. segments/)
    }
  })

  it('7c. deeply nested JSON answers 400 on both write paths, not 500', async () => {
    const sid = await newSession()
    const worker = await token({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const call = envelope('tool-call', { messageId: 'm', agentId: 'agent-1', name: 'shell', input: { command: 'ls' }, status: 'pending' })
    const deep = (json: string) => json.replace('{"command":"ls"}', `${'['.repeat(50_000)}${']'.repeat(50_000)}`)
    const raw = await fetch(`${server.url}/api/streams/sessions/${sid}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
      body: deep(JSON.stringify([call])),
    })
    const writer = await fetch(`${server.url}/api/streams?sessionId=${sid}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
      body: deep(JSON.stringify({ channel: 'tool-call', data: call.value })),
    })
    for (const res of [raw, writer]) {
      expect(res.status).toBe(400)
      expect(((await res.json()) as { error: string }).error).toMatch(/deeper than 64 levels/)
    }
    expect(await events(sid)).toEqual([])
    expect((await rawPost(sid, worker, [call])).status).toBeLessThan(300)
  })

  it("7d. raw session appends get the writer's limits, and a non-writer is refused before its body is read", async () => {
    const sid = await newSession()
    const worker = await token({ role: 'worker', sessionId: sid, subject: 'agent-1' })
    const viewer = await token({ role: 'viewer', sessionId: sid })
    const state = envelope('agent-state', { agentId: 'agent-1', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 })
    const tooMany = await rawPost(
      sid,
      worker,
      Array.from({ length: 1001 }, () => state),
    )
    expect(tooMany.status).toBe(413)
    expect(((await tooMany.json()) as { error: string }).error).toMatch(/at most 1000 events/)
    const big = envelope('agent-state', {
      agentId: 'agent-1',
      status: 'idle',
      tokensIn: 0,
      tokensOut: 0,
      costUsd: 0,
      turns: 0,
      error: 'x'.repeat(250_000),
    })
    expect((await rawPost(sid, worker, [big, big, big, big, big])).status).toBe(413)
    // The viewer announces 1000 bytes and sends none: the answer comes without waiting for them.
    const res = await rawRequest(
      `POST /api/streams/sessions/${sid} HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer ${viewer}\nContent-Type: application/json\nContent-Length: 1000\n`,
      Buffer.alloc(0),
      { waitMs: 5_000 },
    )
    expect(res.status).toBe(403)
    expect(await events(sid)).toEqual([])
    expect((await rawPost(sid, worker, [state])).status).toBeLessThan(300)
  })

  it('7e. names with ESC / OSC sequences are refused (400) wherever a person supplies one, and never reach xterm raw', async () => {
    const sid = await newSession()
    const collab = await token({ role: 'collaborator', sessionId: sid, subject: 'u-eve' })
    const evil = 'Eve\u001b]0;pwned\u0007\u001b[2J'
    const presence = { userId: 'u-eve', displayName: evil, color: '#ff0000', status: 'active' }
    expect((await writerPost(sid, collab, { channel: 'presence', data: presence })).status).toBe(400)
    const raw = await rawPost(sid, collab, [
      { type: 'presence', key: 'u-eve', value: { ...presence, id: 'u-eve', lastSeen: 1, timestamp: 1 }, headers: { operation: 'upsert' } },
    ])
    expect(raw.status).toBe(400)
    expect(((await raw.json()) as { error: string }).error).toMatch(/displayName: .*without control characters/)
    const share = ((await (await api(`/api/sessions/${sid}/share`, { token: admin })).json()) as { shareToken: string }).shareToken
    const join = await api(`/api/sessions/${sid}/join`, { token: share, json: { displayName: evil } })
    expect(join.status).toBe(400)
    expect((await api(`/api/sessions/${sid}/join`, { token: share, json: { displayName: 'Eve' } })).status).toBe(201)
    // A name already on a stream (written before this rule) is drawn inert.
    const label = renderLine({ id: 'l', kind: 'input', source: 'u-eve', data: 'ls', timestamp: 1 }, { name: evil }, 80)
    expect(label).not.toContain('\u001b]0;')
    expect(label).not.toContain('\u0007')
    expect(label).toContain('Eve\uFFFD]0;pwned\uFFFD\uFFFD[2J ◂')
  })

  it('7f. /api/sessions and the writer answer other origins with the CORS headers their preflight promises', async () => {
    const origin = { origin: 'https://elsewhere.example' }
    const preflight = await api('/api/sessions', {
      method: 'OPTIONS',
      headers: { ...origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    })
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    const list = await api('/api/sessions', { token: admin, headers: origin })
    expect(list.status).toBe(200)
    expect(list.headers.get('access-control-allow-origin')).toBe('*')
    const denied = await api('/api/sessions', { headers: origin })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('access-control-allow-origin')).toBe('*')
    const sid = await newSession()
    const written = await api(`/api/streams?sessionId=${sid}`, {
      token: admin,
      headers: origin,
      json: { channel: 'chunk', data: { messageId: 'm', role: 'user', author: 'admin-user', turn: 0, seq: 0, delta: 'x' } },
    })
    expect(written.headers.get('access-control-allow-origin')).toBe('*')
    expect(
      (await api(`/api/streams/sessions/${sid}?offset=-1`, { token: admin, headers: origin })).headers.get('access-control-allow-origin'),
    ).toBe('*')
  })
})

describe('issue #8: every role × every channel, through both write paths (production build)', () => {
  type Who = 'viewer' | 'collaborator' | 'worker' | 'other-worker' | 'admin'
  const CHANNELS = ['chunk', 'tool-call', 'terminal', 'presence', 'agent-state'] as const
  // true = accepted; everything else must be 403. The event always carries the writer's own id.
  const ALLOWED: Record<Who, Record<(typeof CHANNELS)[number], boolean>> = {
    viewer: { chunk: false, 'tool-call': false, terminal: false, presence: false, 'agent-state': false },
    collaborator: { chunk: true, 'tool-call': false, terminal: true, presence: true, 'agent-state': false },
    worker: { chunk: true, 'tool-call': true, terminal: true, presence: false, 'agent-state': true },
    'other-worker': { chunk: false, 'tool-call': false, terminal: false, presence: false, 'agent-state': false },
    admin: { chunk: true, 'tool-call': true, terminal: true, presence: true, 'agent-state': true },
  }
  const SUB: Record<Who, string> = {
    viewer: 'v-1',
    collaborator: 'u-ann',
    worker: 'agent-1',
    'other-worker': 'agent-1',
    admin: 'admin-user',
  }
  const isAgent = (who: Who) => who === 'worker' || who === 'other-worker'

  function eventFor(who: Who, channel: (typeof CHANNELS)[number], n: string): Record<string, unknown> {
    const me = SUB[who]
    switch (channel) {
      case 'chunk':
        return { messageId: `m-${n}`, role: isAgent(who) ? 'assistant' : 'user', author: me, turn: 0, seq: 0, delta: 'hi' }
      case 'tool-call':
        return { messageId: `m-${n}`, agentId: me, name: 'shell', input: { command: 'ls' }, status: 'pending' }
      case 'terminal':
        return isAgent(who)
          ? { kind: 'output', source: me, stream: 'stdout', data: 'out', commandId: `c-${n}` }
          : { kind: 'input', source: me, data: 'ls' }
      case 'presence':
        return { userId: me, displayName: me, color: '#3b82f6', status: 'active' }
      case 'agent-state':
        return { agentId: me, status: 'thinking', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0 }
    }
  }

  let sid: string
  const tokens = {} as Record<Who, string>
  beforeAll(async () => {
    sid = await newSession()
    const other = await newSession()
    tokens.viewer = await token({ role: 'viewer', sessionId: sid, subject: SUB.viewer })
    tokens.collaborator = await token({ role: 'collaborator', sessionId: sid, subject: SUB.collaborator })
    tokens.worker = await token({ role: 'worker', sessionId: sid, subject: SUB.worker })
    tokens['other-worker'] = await token({ role: 'worker', sessionId: other, subject: SUB['other-worker'] })
    tokens.admin = admin
  })

  const cases = (Object.keys(ALLOWED) as Who[]).flatMap((who) =>
    CHANNELS.flatMap((channel) => (['raw', 'writer'] as const).map((path) => ({ who, channel, path }))),
  )
  it.each(cases)('$who writes $channel via $path', async ({ who, channel, path }) => {
    const data = eventFor(who, channel, `${who}-${channel}-${path}`)
    const before = (await events(sid)).length
    const res =
      path === 'raw' ? await rawPost(sid, tokens[who], [envelope(channel, data)]) : await writerPost(sid, tokens[who], { channel, data })
    if (ALLOWED[who][channel]) {
      expect(res.status, await res.clone().text()).toBeLessThan(300)
      expect((await events(sid)).length).toBe(before + 1)
    } else {
      expect(res.status).toBe(403)
      expect(((await res.json()) as { error: string }).error).toMatch(/may not|not valid for session/)
      expect((await events(sid)).length).toBe(before)
    }
  })

  it('collaborators may still ask the agent to stop; a viewer may not', async () => {
    const control = (by: string) => ({ kind: 'control', action: 'stop', reason: 'user', requestedBy: by })
    expect((await writerPost(sid, tokens.collaborator, { channel: 'agent-state', data: control(SUB.collaborator) })).status).toBe(200)
    expect((await rawPost(sid, tokens.collaborator, [envelope('agent-state', control(SUB.collaborator))])).status).toBeLessThan(300)
    expect((await writerPost(sid, tokens.collaborator, { channel: 'agent-state', data: control('someone-else') })).status).toBe(403)
    expect((await writerPost(sid, tokens.viewer, { channel: 'agent-state', data: control(SUB.viewer) })).status).toBe(403)
  })
})
