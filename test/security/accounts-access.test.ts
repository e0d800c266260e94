/**
 * The accounts endpoints (specs/security.md rows for /api/auth/*, /api/keys, …/members) tried
 * with every token role, a stranger's cookie and a member's cookie: each gets what its row says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from '../lib/accounts/support'

describe('accounts endpoints × roles', () => {
  let h: AccountsHarness
  let owner: TestBrowser
  let stranger: TestBrowser
  let sid: string
  let bobId: string
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    h = await startAccounts()
    owner = await signIn(h, 'alice')
    stranger = await signIn(h, 'carol')
    const bob = await signIn(h, 'bob')
    bobId = (await body<{ user: { id: string } }>(await bob.request('/api/auth/me'))).user.id
    sid = (await body<{ session: { id: string } }>(await owner.request('/api/sessions', { json: { title: 'matrix' } }))).session.id
    tokens.viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid, subject: 'v1' })
    tokens.shareLink = await h.app.issueToken({ role: 'collaborator', sessionId: sid })
    tokens.collaborator = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'c1' })
    tokens.worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent' })
    tokens.otherAdmin = await h.app.issueToken({ role: 'admin', sessionId: 'another' })
    tokens.admin = h.adminToken
  })
  afterAll(() => h.close())

  const as = (token: string, path: string, method = 'GET', json?: unknown) =>
    h.app.fetch(
      new Request(`${APP}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      }),
    )

  it('/api/keys: cookie only; every token role gets 401', async () => {
    for (const [role, token] of Object.entries(tokens)) {
      expect((await as(token, '/api/keys')).status, role).toBe(401)
      expect((await as(token, '/api/keys', 'POST', { name: 'x' })).status, role).toBe(401)
      expect((await as(token, '/api/keys/key_x', 'DELETE')).status, role).toBe(401)
    }
  })

  it('GET members: collaborators and admins of the session; viewers, share links, workers and strangers 403', async () => {
    const expected: Record<string, number> = { viewer: 403, shareLink: 200, collaborator: 200, worker: 403, otherAdmin: 403, admin: 200 }
    for (const [role, token] of Object.entries(tokens)) expect((await as(token, `/api/sessions/${sid}/members`)).status, role).toBe(expected[role])
    expect((await stranger.request(`/api/sessions/${sid}/members`)).status).toBe(403)
    expect((await owner.request(`/api/sessions/${sid}/members`)).status).toBe(200)
  })

  it('POST and DELETE members: the owner and admins only', async () => {
    for (const role of ['viewer', 'shareLink', 'collaborator', 'worker', 'otherAdmin']) {
      expect((await as(tokens[role] as string, `/api/sessions/${sid}/members`, 'POST', { userId: bobId, role: 'viewer' })).status, role).toBe(403)
    }
    expect((await stranger.request(`/api/sessions/${sid}/members`, { json: { userId: bobId, role: 'viewer' } })).status).toBe(403)
    expect((await as(tokens.admin as string, `/api/sessions/${sid}/members`, 'POST', { userId: bobId, role: 'viewer' })).status).toBe(201)
    for (const role of ['viewer', 'shareLink', 'collaborator', 'worker', 'otherAdmin']) {
      expect((await as(tokens[role] as string, `/api/sessions/${sid}/members/${bobId}`, 'DELETE')).status, role).toBe(403)
    }
    expect((await stranger.request(`/api/sessions/${sid}/members/${bobId}`, { method: 'DELETE' })).status).toBe(403)
    expect((await owner.request(`/api/sessions/${sid}/members/${bobId}`, { method: 'DELETE' })).status).toBe(204)
  })

  it('/api/auth/me is public and names only the cookie\'s person; logout with a token is a no-op', async () => {
    for (const token of Object.values(tokens)) {
      expect((await body<{ user: unknown }>(await as(token, '/api/auth/me'))).user).toBeNull()
    }
    expect((await as(tokens.admin as string, '/api/auth/logout', 'POST')).status).toBe(204)
    expect((await owner.request('/api/auth/me')).status).toBe(200)
  })

  it('a stranger\'s cookie covers no session: read, write and the raw protocol are 403', async () => {
    expect((await stranger.request(`/api/streams/sessions/${sid}?offset=-1`)).status).toBe(403)
    expect((await stranger.request(`/v1/stream/sessions/${sid}?offset=-1`)).status).toBe(403)
    expect((await stranger.request(`/api/sessions/${sid}/messages`, { json: { text: 'x' } })).status).toBe(403)
    expect((await stranger.request(`/api/sessions/${encodeURIComponent(sid)}/view`)).status).toBe(403)
  })
})
