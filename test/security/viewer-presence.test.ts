/**
 * Issue #10, viewers in "Here now", through the production build: a view link's token (viewer, no
 * user) joins for a personal viewer token, which may write exactly one thing, its own presence
 * entry marked `role: 'viewer'` (upsert and delete), on both write paths. Every forgery a viewer
 * could try is refused (someone else's entry, a higher role, a chunk, a terminal line, a stop
 * request, a batch hiding one of those), and the other roles keep their rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeToken } from '../../src/lib/sessions/client/auth'
import { issueToken, secretFromString, type IssueTokenOptions } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'

const SECRET = 'viewer-presence-secret-0123456789abcdef'
let server: ProductionServer
let admin: string
const token = (opts: IssueTokenOptions) => issueToken(secretFromString(SECRET), opts)

type Answer = { status: number; error: string; body: Record<string, unknown> }

async function call(path: string, auth: string | undefined, body?: unknown): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  let parsed: Record<string, unknown> = {}
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    // not JSON
  }
  return { status: res.status, error: typeof parsed.error === 'string' ? parsed.error : '', body: parsed }
}

const presence = (userId: string, extra: Record<string, unknown> = {}) => ({
  id: userId,
  userId,
  displayName: 'Watcher',
  color: '#3b82f6',
  status: 'active',
  lastSeen: Date.now(),
  timestamp: Date.now(),
  ...extra,
})

/** The same events through the session writer and as raw protocol appends. */
const writer = (sessionId: string, auth: string | undefined, events: Array<{ channel: string; data: unknown; operation?: string }>) =>
  call(`/api/streams?sessionId=${encodeURIComponent(sessionId)}`, auth, events)
const raw = (sessionId: string, auth: string | undefined, events: Array<{ type: string; key: string; value?: unknown; op?: string }>) =>
  call(
    `/api/streams/sessions/${sessionId}`,
    auth,
    events.map((e) => ({ type: e.type, key: e.key, ...(e.value ? { value: e.value } : {}), headers: { operation: e.op ?? 'upsert' } })),
  )

async function events(sessionId: string): Promise<Array<{ type: string; key: string; value?: Record<string, unknown>; headers: { operation: string } }>> {
  const res = await fetch(`${server.url}/api/streams/sessions/${sessionId}?offset=-1`, { headers: { authorization: `Bearer ${admin}` } })
  const text = await res.text()
  return text.trim() ? JSON.parse(text) : []
}

async function newSession(): Promise<string> {
  const created = await call('/api/sessions', admin, { pattern: 'hybrid', title: 'watched' })
  expect(created.status).toBe(201)
  return (created.body.session as { id: string }).id
}

/** A view link's token exchanged at join: the personal viewer token and its user id. */
async function joinAsViewer(sessionId: string): Promise<{ token: string; userId: string }> {
  const link = await token({ role: 'viewer', sessionId })
  const joined = await call(`/api/sessions/${sessionId}/join`, link, { displayName: 'Watcher' })
  expect(joined.status).toBe(201)
  return { token: joined.body.token as string, userId: joined.body.userId as string }
}

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  admin = await token({ role: 'admin', subject: 'admin-user' })
}, 180_000)
afterAll(() => server?.dispose())

describe('join with a view link', () => {
  it('answers a personal viewer token (never a collaborator one), keeping a viewer token’s own user', async () => {
    const id = await newSession()
    const link = await token({ role: 'viewer', sessionId: id })
    const joined = await call(`/api/sessions/${id}/join`, link, { displayName: 'Watcher' })
    expect([joined.status, joined.body.role]).toEqual([201, 'viewer'])
    const info = decodeToken(joined.body.token as string)
    expect(info).toMatchObject({ role: 'viewer', sid: id, sub: joined.body.userId, name: 'Watcher' })
    expect(joined.body.userId).toMatch(/^u_/)
    const personal = await token({ role: 'viewer', sessionId: id, subject: 'v-kept' })
    const again = await call(`/api/sessions/${id}/join`, personal, {})
    expect([again.status, again.body.userId, decodeToken(again.body.token as string)?.role]).toEqual([201, 'v-kept', 'viewer'])
    // The personal viewer token is still a viewer everywhere else.
    const viewer = joined.body.token as string
    expect((await call(`/api/sessions/${id}/share`, viewer)).status).toBe(403)
    expect((await call(`/api/sessions/${id}/messages`, viewer, { text: 'hi' })).status).toBe(403)
    // A viewer of another session cannot join this one.
    const other = await token({ role: 'viewer', sessionId: await newSession() })
    expect((await call(`/api/sessions/${id}/join`, other, {})).status).toBe(403)
  })
})

describe('a viewer with a user writes only its own presence, as a viewer', () => {
  it('upserts and deletes its own entry on both write paths; presence is not activity', async () => {
    const id = await newSession()
    const before = (await call(`/api/sessions/${id}`, admin)).body.session as { usage: { lastActivityAt: number | null } }
    const v = await joinAsViewer(id)
    expect((await writer(id, v.token, [{ channel: 'presence', data: presence(v.userId, { role: 'viewer' }) }])).status).toBe(200)
    let mine = (await events(id)).filter((e) => e.type === 'presence' && e.key === v.userId)
    expect(mine.at(-1)?.value).toMatchObject({ userId: v.userId, role: 'viewer' })
    const cursor = presence(v.userId, { role: 'viewer', cursor: null, status: 'idle' })
    expect((await raw(id, v.token, [{ type: 'presence', key: v.userId, value: cursor }])).status).toBe(204)
    expect((await writer(id, v.token, [{ channel: 'presence', operation: 'delete', data: { userId: v.userId } }])).status).toBe(200)
    expect((await raw(id, v.token, [{ type: 'presence', key: v.userId, op: 'delete' }])).status).toBe(204)
    mine = (await events(id)).filter((e) => e.type === 'presence' && e.key === v.userId)
    expect(mine.map((e) => e.headers.operation)).toEqual(['upsert', 'upsert', 'delete', 'delete'])
    const after = (await call(`/api/sessions/${id}`, admin)).body.session as { usage: { lastActivityAt: number | null } }
    expect(after.usage.lastActivityAt).toBe(before.usage.lastActivityAt)
  })

  it('refuses every forgery on both paths and writes nothing', async () => {
    const id = await newSession()
    const v = await joinAsViewer(id)
    const collaborator = await token({ role: 'collaborator', sessionId: id, subject: 'u-ann' })
    expect((await writer(id, collaborator, [{ channel: 'presence', data: presence('u-ann') }])).status).toBe(200)
    const count = (await events(id)).length
    const forgeries: Array<[string, { channel: string; data: unknown; operation?: string }]> = [
      ['someone else’s presence', { channel: 'presence', data: presence('u-ann', { role: 'viewer' }) }],
      ['someone else’s presence, deleted', { channel: 'presence', operation: 'delete', data: { userId: 'u-ann' } }],
      ['its presence without the viewer mark', { channel: 'presence', data: presence(v.userId) }],
      ['its presence as a collaborator', { channel: 'presence', data: presence(v.userId, { role: 'collaborator' }) }],
      ['its presence as an admin', { channel: 'presence', data: presence(v.userId, { role: 'admin' }) }],
      ['a chunk', { channel: 'chunk', data: { messageId: 'm1', role: 'user', author: v.userId, turn: 0, seq: 0, delta: 'hi' } }],
      ['a terminal line', { channel: 'terminal', data: { kind: 'input', source: v.userId, data: 'rm -rf /' } }],
      ['a stop request', { channel: 'agent-state', data: { id: 'control:x', kind: 'control', action: 'stop', reason: 'user', requestedBy: v.userId } }],
    ]
    for (const [what, event] of forgeries) {
      const res = await writer(id, v.token, [event])
      expect([res.status, res.error], `writer: ${what}`).toEqual([403, expect.stringMatching(/role viewer/)])
    }
    // A batch that hides a chunk behind its own presence is refused whole.
    const batch = await writer(id, v.token, [
      { channel: 'presence', data: presence(v.userId, { role: 'viewer' }) },
      forgeries[5][1],
    ])
    expect(batch.status).toBe(403)
    // Raw path: the same rules, and a delete is judged by its key, not by a value riding along.
    const rawForgeries: Array<[string, { type: string; key: string; value?: unknown; op?: string }]> = [
      ['someone else’s presence', { type: 'presence', key: 'u-ann', value: presence('u-ann', { role: 'viewer' }) }],
      ['its presence as a collaborator', { type: 'presence', key: v.userId, value: presence(v.userId, { role: 'collaborator' }) }],
      ['someone else’s delete, own id in the value', { type: 'presence', key: 'u-ann', value: { id: v.userId, userId: v.userId }, op: 'delete' }],
      [
        'a terminal line',
        { type: 'terminal', key: 't1', value: { id: 't1', kind: 'input', source: v.userId, data: 'ls', timestamp: Date.now() }, op: 'insert' },
      ],
    ]
    for (const [what, event] of rawForgeries) {
      const res = await raw(id, v.token, [event])
      expect([res.status, res.error], `raw: ${what}`).toEqual([403, expect.stringMatching(/role viewer/)])
    }
    expect((await events(id)).length).toBe(count)
  })
})

describe('the other roles keep their presence rules', () => {
  it('a viewer without a user, a share link, a worker and another session’s viewer write nothing; a collaborator never claims admin', async () => {
    const id = await newSession()
    const share = (await call(`/api/sessions/${id}/share`, admin)).body.shareToken as string
    const refused: Array<[string, string, string]> = [
      ['view link (no user)', await token({ role: 'viewer', sessionId: id }), 'u-x'],
      ['share link', share, 'u-x'],
      ['worker', await token({ role: 'worker', sessionId: id, subject: 'agent-1' }), 'agent-1'],
      ['viewer of another session', await token({ role: 'viewer', sessionId: await newSession(), subject: 'v-2' }), 'v-2'],
    ]
    for (const [who, t, userId] of refused) {
      const res = await writer(id, t, [{ channel: 'presence', data: presence(userId, { role: 'viewer' }) }])
      expect(res.status, who).toBe(403)
    }
    const collaborator = await token({ role: 'collaborator', sessionId: id, subject: 'u-ann' })
    expect((await writer(id, collaborator, [{ channel: 'presence', data: presence('u-ann', { role: 'admin' }) }])).status).toBe(403)
    expect((await writer(id, collaborator, [{ channel: 'presence', data: presence('u-ann', { role: 'collaborator' }) }])).status).toBe(200)
    expect((await writer(id, admin, [{ channel: 'presence', data: presence('admin-user', { role: 'admin' }) }])).status).toBe(200)
  })
})
