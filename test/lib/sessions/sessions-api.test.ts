import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BACKENDS, createSession, readStream, startHarness, write, type Harness } from './harness'

interface SessionJson {
  id: string
  pattern: string
  status: string
  title: string | null
  limits: Record<string, number | null>
  usage: { tokensIn: number; tokensOut: number; costUsd: number; turns: number; lastActivityAt: number | null }
  agent: Record<string, unknown>
  metadata: Record<string, string>
  endReason: string | null
}

describe.each(BACKENDS)('sessions API (%s streams)', (backend) => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness(backend)
  })
  afterAll(() => h.close())

  const admin = () => h.adminToken
  const api = (path: string, init: Parameters<Harness['request']>[1] = {}) => h.request(`/api/sessions${path}`, { token: admin(), ...init })

  describe('POST /api/sessions', () => {
    it('creates a session with its stream, limits and a share link carrying a collaborator token', async () => {
      const res = await api('', {
        json: {
          pattern: 'ephemeral',
          title: 'Fix the bug',
          agent: { model: 'echo', systemPrompt: 'be brief', allowedTools: ['bash'] },
          limits: { maxBudgetUsd: 0.5, maxTurns: 10 },
          metadata: { team: 'core' },
        },
      })
      expect(res.status).toBe(201)
      const body = (await res.json()) as { session: SessionJson; streamUrl: string; shareUrl: string; shareToken: string }
      expect(body.session).toMatchObject({
        pattern: 'ephemeral',
        status: 'active',
        title: 'Fix the bug',
        agent: { model: 'echo', allowedTools: ['bash'] },
        limits: { maxBudgetUsd: 0.5, maxTurns: 10, maxIdleTimeMs: 15 * 60_000 },
        metadata: { team: 'core' },
      })
      expect(body.streamUrl).toBe(`/api/streams/sessions/${body.session.id}`)
      expect(res.headers.get('location')).toBe(`/api/sessions/${body.session.id}`)
      // The stream exists, is empty, and renews a 30-day sliding TTL.
      const head = await h.request(body.streamUrl, { method: 'HEAD', token: admin() })
      expect(head.status).toBe(200)
      expect(head.headers.get('stream-ttl')).toBe(String(30 * 86_400))
      // The share link's token reads the stream and joins; it cannot write by itself.
      const shareUrl = new URL(body.shareUrl)
      expect(shareUrl.pathname).toBe(`/sessions/${body.session.id}`)
      expect(shareUrl.searchParams.get('token')).toBe(body.shareToken)
      expect((await h.request(`${body.streamUrl}?offset=-1&token=${body.shareToken}`)).status).toBe(200)
      const denied = await h.request(`/api/streams?sessionId=${body.session.id}`, {
        token: body.shareToken,
        json: { channel: 'presence', data: { userId: 'x', displayName: 'X', color: '#000000', status: 'active' } },
      })
      expect(denied.status).toBe(403)
      const join = await api(`/${body.session.id}/join`, { token: body.shareToken, json: { displayName: 'Ann' } })
      expect(join.status).toBe(201)
      const joined = (await join.json()) as { token: string; userId: string; displayName: string }
      expect(joined.displayName).toBe('Ann')
      const ok = await h.request(`/api/streams?sessionId=${body.session.id}`, {
        token: joined.token,
        json: { channel: 'presence', data: { userId: joined.userId, displayName: 'Ann', color: '#00ff00', status: 'active' } },
      })
      expect(ok.status).toBe(200)
    })

    it.each([
      ['an unknown pattern', { pattern: 'forever' }, 'pattern'],
      ['an unknown field', { pattern: 'hybrid', colour: 'red' }, ''],
      ['a negative budget', { limits: { maxBudgetUsd: -1 } }, 'limits.maxBudgetUsd'],
      ['a fractional turn limit', { limits: { maxTurns: 1.5 } }, 'limits.maxTurns'],
      ['an unknown limit', { limits: { maxCats: 3 } }, 'limits'],
      ['a title that is not a string', { title: 42 }, 'title'],
      ['allowedTools that is not a list', { agent: { allowedTools: 'bash' } }, 'agent.allowedTools'],
    ])('answers 400 for %s', async (_n, body, field) => {
      const res = await api('', { json: body })
      expect(res.status).toBe(400)
      const err = (await res.json()) as { field: string }
      if (field) expect(err.field).toBe(field)
    })

    it('answers 400 for malformed JSON, 401 without a token, 403 for non-admin tokens', async () => {
      expect((await api('', { body: '{', headers: { 'content-type': 'application/json' } })).status).toBe(400)
      expect((await api('', { token: null, json: {} })).status).toBe(401)
      const sid = await createSession(h)
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
      expect((await api('', { token: collab, json: {} })).status).toBe(403)
    })

    it('defaults the pattern to hybrid', async () => {
      const res = await api('', { json: {} })
      expect(res.status).toBe(201)
      expect(((await res.json()) as { session: SessionJson }).session.pattern).toBe('hybrid')
    })
  })

  describe('GET /api/sessions', () => {
    it('filters by status and pattern and pages with a cursor', async () => {
      const ids: string[] = []
      for (let i = 0; i < 5; i++) {
        h.clock.advance(1)
        ids.push(await createSession(h, { pattern: 'single-container', title: `page ${i}` }))
      }
      await api(`/${ids[0]}/terminate`, { method: 'POST' })
      const seen: string[] = []
      let cursor: string | null = null
      do {
        const q: string = `?pattern=single-container&status=active&limit=2${cursor ? `&cursor=${cursor}` : ''}`
        const res = await api(q)
        expect(res.status).toBe(200)
        const page = (await res.json()) as { sessions: SessionJson[]; nextCursor: string | null }
        expect(page.sessions.length).toBeLessThanOrEqual(2)
        for (const s of page.sessions) {
          expect(s.pattern).toBe('single-container')
          expect(s.status).toBe('active')
        }
        seen.push(...page.sessions.map((s) => s.id))
        cursor = page.nextCursor
      } while (cursor)
      expect(seen).toEqual(ids.slice(1).reverse())
      const terminated = (await (await api('?status=terminated&pattern=single-container')).json()) as { sessions: SessionJson[] }
      expect(terminated.sessions.map((s) => s.id)).toEqual([ids[0]])
    })

    it.each([
      ['?status=sleeping', 'query.status'],
      ['?pattern=nope', 'query.pattern'],
      ['?limit=0', 'query.limit'],
      ['?limit=1000', 'query.limit'],
      ['?limit=abc', 'query.limit'],
      ['?cursor=not-a-cursor', 'query.cursor'],
    ])('answers 400 for %s', async (q, field) => {
      const res = await api(q)
      expect(res.status).toBe(400)
      expect(((await res.json()) as { field: string }).field).toBe(field)
    })

    it('shows a session-scoped token only its own session', async () => {
      const sid = await createSession(h)
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const page = (await (await api('', { token: viewer })).json()) as { sessions: SessionJson[] }
      expect(page.sessions.map((s) => s.id)).toEqual([sid])
    })
  })

  describe('GET /api/sessions list items: presence and agents', () => {
    it('lists who is present (not gone, not left) and each agent status of live sessions', async () => {
      const sid = await createSession(h, { title: 'presence-list' })
      const now = h.clock.now()
      await write(h, sid, [
        { channel: 'presence', data: { userId: 'u-zed', displayName: 'Zed', color: '#00ff00', status: 'idle', lastSeen: now } },
        { channel: 'presence', data: { userId: 'u-amy', displayName: 'Amy', color: '#ff0000', status: 'active', lastSeen: now } },
        { channel: 'presence', data: { userId: 'u-old', displayName: 'Old', color: '#0000ff', status: 'active', lastSeen: now - 60_000 } },
        { channel: 'presence', data: { userId: 'u-left', displayName: 'Left', color: '#0000ff', status: 'active', lastSeen: now } },
        { channel: 'agent-state', data: { agentId: 'agent-1', status: 'thinking', tokensIn: 1, tokensOut: 1, costUsd: 0, turns: 0 } },
      ])
      await write(h, sid, { channel: 'presence', operation: 'delete', data: { userId: 'u-left' } })
      const ended = await createSession(h, { title: 'presence-list-ended' })
      expect((await api(`/${ended}/terminate`, { method: 'POST' })).status).toBe(200)
      // A fresh process folds the same from the stream.
      await h.restart()
      const res = await api('?limit=100')
      expect(res.status).toBe(200)
      const { sessions } = (await res.json()) as {
        sessions: Array<{ id: string; presence: Array<Record<string, unknown>>; agents: Array<Record<string, unknown>> }>
      }
      const item = sessions.find((s) => s.id === sid)!
      expect(item.presence).toEqual([
        { userId: 'u-amy', displayName: 'Amy', color: '#ff0000', status: 'active' },
        { userId: 'u-zed', displayName: 'Zed', color: '#00ff00', status: 'idle' },
      ])
      expect(item.agents).toEqual([{ agentId: 'agent-1', status: 'thinking' }])
      expect(sessions.find((s) => s.id === ended)).toMatchObject({ presence: [], agents: [] })
    })
  })

  describe('GET /api/sessions/:id/share', () => {
    it('gives admins and collaborators a fresh share link; viewers and workers get 403', async () => {
      const sid = await createSession(h)
      const res = await api(`/${sid}/share`)
      expect(res.status).toBe(200)
      const body = (await res.json()) as { shareUrl: string; shareToken: string; streamUrl: string }
      const url = new URL(body.shareUrl)
      expect(url.pathname).toBe(`/sessions/${sid}`)
      expect(url.searchParams.get('token')).toBe(body.shareToken)
      // The shared token reads and joins, but cannot write.
      expect((await h.request(`${body.streamUrl}?offset=-1&token=${body.shareToken}`)).status).toBe(200)
      expect((await api(`/${sid}/join`, { token: body.shareToken, json: {} })).status).toBe(201)
      const collaborator = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
      expect((await api(`/${sid}/share`, { token: collaborator })).status).toBe(200)
      expect((await api(`/${sid}/share`, { token: body.shareToken })).status).toBe(200)
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent-1' })
      expect((await api(`/${sid}/share`, { token: viewer })).status).toBe(403)
      expect((await api(`/${sid}/share`, { token: worker })).status).toBe(403)
      const other = await h.app.issueToken({ role: 'collaborator', sessionId: await createSession(h), subject: 'u-ann' })
      expect((await api(`/${sid}/share`, { token: other })).status).toBe(403)
      expect((await api('/s_nope/share')).status).toBe(404)
      expect((await api(`/${sid}/share`, { method: 'POST', json: {} })).status).toBe(405)
    })
  })

  describe('GET /api/sessions/:id', () => {
    it('answers the session with usage folded from its stream', async () => {
      const sid = await createSession(h)
      await write(h, sid, [
        { channel: 'agent-state', data: { agentId: 'a1', status: 'idle', tokensIn: 100, tokensOut: 50, costUsd: 0.25, turns: 2 } },
        { channel: 'agent-state', data: { agentId: 'a2', status: 'idle', tokensIn: 10, tokensOut: 5, costUsd: 0.05, turns: 1 } },
      ])
      const res = await api(`/${sid}`)
      expect(res.status).toBe(200)
      const { session } = (await res.json()) as { session: SessionJson }
      expect(session.usage).toMatchObject({ tokensIn: 110, tokensOut: 55, costUsd: 0.3, turns: 3 })
    })

    it('answers 404 for an unknown id and 403 for another session’s token', async () => {
      expect((await api('/s_nope')).status).toBe(404)
      const a = await createSession(h)
      const b = await createSession(h)
      const viewerA = await h.app.issueToken({ role: 'viewer', sessionId: a })
      expect((await api(`/${a}`, { token: viewerA })).status).toBe(200)
      expect((await api(`/${b}`, { token: viewerA })).status).toBe(403)
    })

    it('answers 404 for an unknown sub-resource and 405 for a wrong method', async () => {
      const sid = await createSession(h)
      expect((await api(`/${sid}/bogus`, { method: 'POST' })).status).toBe(404)
      expect((await api(`/${sid}`, { method: 'POST', json: {} })).status).toBe(405)
      expect((await api(`/${sid}/terminate`)).status).toBe(405)
    })
  })

  describe('PATCH /api/sessions/:id', () => {
    it('updates title, agent, limits and metadata', async () => {
      const sid = await createSession(h)
      const res = await api(`/${sid}`, {
        method: 'PATCH',
        json: { title: 'renamed', limits: { maxTurns: 3, maxIdleTimeMs: null }, metadata: { k: 'v' } },
      })
      expect(res.status).toBe(200)
      const { session } = (await res.json()) as { session: SessionJson }
      expect(session).toMatchObject({ title: 'renamed', limits: { maxTurns: 3, maxIdleTimeMs: null }, metadata: { k: 'v' } })
    })

    it('answers 400 for an empty or invalid patch, 404 for an unknown id, 403 for a collaborator', async () => {
      const sid = await createSession(h)
      expect((await api(`/${sid}`, { method: 'PATCH', json: {} })).status).toBe(400)
      expect((await api(`/${sid}`, { method: 'PATCH', json: { limits: { maxTurns: 0 } } })).status).toBe(400)
      expect((await api(`/${sid}`, { method: 'PATCH', json: { status: 'active' } })).status).toBe(400)
      expect((await api('/s_nope', { method: 'PATCH', json: { title: 'x' } })).status).toBe(404)
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
      expect((await api(`/${sid}`, { method: 'PATCH', token: collab, json: { title: 'x' } })).status).toBe(403)
    })
  })

  describe('POST /api/sessions/:id/messages', () => {
    it('appends a user message to the chunk channel and answers its offset', async () => {
      const sid = await createSession(h)
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
      const res = await api(`/${sid}/messages`, { token: collab, json: { text: 'hello agent' } })
      expect(res.status).toBe(201)
      const body = (await res.json()) as { ok: boolean; offset: string; messageId: string }
      const read = await readStream(h, sid)
      expect(read.next).toBe(body.offset)
      expect(read.events).toHaveLength(1)
      expect(read.events[0]).toMatchObject({
        type: 'chunk',
        value: { messageId: body.messageId, role: 'user', author: 'u-ann', delta: 'hello agent', done: true, seq: 0 },
      })
    })

    it('is idempotent on a client-chosen message id', async () => {
      const sid = await createSession(h)
      await api(`/${sid}/messages`, { json: { text: 'once', messageId: 'm-fixed' } })
      const again = await api(`/${sid}/messages`, { json: { text: 'once', messageId: 'm-fixed' } })
      expect(((await again.json()) as { duplicates: number }).duplicates).toBe(1)
      expect((await readStream(h, sid)).events).toHaveLength(1)
    })

    it('answers 400 for empty text, 403 for a viewer or a foreign author, 404 for an ended session', async () => {
      const sid = await createSession(h)
      expect((await api(`/${sid}/messages`, { json: { text: '' } })).status).toBe(400)
      expect((await api(`/${sid}/messages`, { json: {} })).status).toBe(400)
      const viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid })
      expect((await api(`/${sid}/messages`, { token: viewer, json: { text: 'hi' } })).status).toBe(403)
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u-ann' })
      expect((await api(`/${sid}/messages`, { token: collab, json: { text: 'hi', author: 'u-bob' } })).status).toBe(403)
      await api(`/${sid}/terminate`, { method: 'POST' })
      expect((await api(`/${sid}/messages`, { json: { text: 'hi' } })).status).toBe(404)
      expect((await api('/s_nope/messages', { json: { text: 'hi' } })).status).toBe(404)
    })
  })

  describe('POST /api/sessions/:id/terminate', () => {
    it('ends the session: record, stop event and closed stream', async () => {
      const sid = await createSession(h)
      const res = await api(`/${sid}/terminate`, { json: { reason: 'done for today' } })
      expect(res.status).toBe(200)
      const { session } = (await res.json()) as { session: SessionJson }
      expect(session).toMatchObject({ status: 'terminated', endReason: 'done for today' })
      const read = await readStream(h, sid)
      expect(read.closed).toBe(true)
      expect(read.events.at(-1)).toMatchObject({
        type: 'agent-state',
        value: { kind: 'control', action: 'stop', reason: 'done for today', requestedBy: 'admin-user' },
      })
    })

    it('answers 404 for an unknown or already ended session, 400 for a bad body, 403 for a collaborator', async () => {
      const sid = await createSession(h)
      expect((await api(`/${sid}/terminate`, { json: { reason: 5 } })).status).toBe(400)
      const collab = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'u1' })
      expect((await api(`/${sid}/terminate`, { token: collab, method: 'POST' })).status).toBe(403)
      expect((await api(`/${sid}/terminate`, { method: 'POST' })).status).toBe(200)
      expect((await api(`/${sid}/terminate`, { method: 'POST' })).status).toBe(404)
      expect((await api('/s_nope/terminate', { method: 'POST' })).status).toBe(404)
    })
  })

  describe('DELETE /api/sessions/:id', () => {
    it('removes the record and the stream', async () => {
      const sid = await createSession(h)
      expect((await api(`/${sid}`, { method: 'DELETE' })).status).toBe(204)
      expect((await api(`/${sid}`)).status).toBe(404)
      expect((await h.request(`/api/streams/sessions/${sid}?offset=-1`, { token: admin() })).status).toBe(404)
      expect((await api(`/${sid}`, { method: 'DELETE' })).status).toBe(404)
    })

    it('answers 403 for a worker token', async () => {
      const sid = await createSession(h)
      const worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'a1' })
      expect((await api(`/${sid}`, { method: 'DELETE', token: worker })).status).toBe(403)
    })
  })

  describe('GET /api/sessions/stats', () => {
    it('counts sessions by status and pattern and sums usage', async () => {
      const before = (await (await api('/stats')).json()) as {
        total: number
        byStatus: Record<string, number>
        byPattern: Record<string, number>
        usage: { costUsd: number; turns: number }
      }
      const sid = await createSession(h, { pattern: 'hybrid' })
      await write(h, sid, {
        channel: 'agent-state',
        data: { agentId: 'a1', status: 'idle', tokensIn: 7, tokensOut: 3, costUsd: 1.5, turns: 4 },
      })
      await api(`/${sid}/terminate`, { method: 'POST' })
      const res = await api('/stats')
      expect(res.status).toBe(200)
      const after = (await res.json()) as typeof before
      expect(after.total).toBe(before.total + 1)
      expect(after.byStatus.terminated).toBe(before.byStatus.terminated + 1)
      expect(after.byPattern.hybrid).toBe(before.byPattern.hybrid + 1)
      expect(after.usage.costUsd).toBeCloseTo(before.usage.costUsd + 1.5, 6)
      expect(after.usage.turns).toBe(before.usage.turns + 4)
      expect((await api('/stats', { method: 'POST', json: {} })).status).toBe(405)
      expect((await api('/stats', { token: null })).status).toBe(401)
    })
  })
})
