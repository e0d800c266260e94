/**
 * /api/agents (specs/security.md rows for personal agent profiles) tried with every token role, a
 * scoped personal key, a stranger's cookie, the owner and an admin person: each gets what its row
 * says, and no answer to anyone holds the credential.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from '../lib/accounts/support'

const SECRET = 'sk-ant-access-matrix-5b1e0c'

describe('/api/agents × roles', () => {
  let h: AccountsHarness
  let owner: TestBrowser
  let stranger: TestBrowser
  let root: TestBrowser
  let sid: string
  let pid: string
  const tokens: Record<string, string> = {}
  const answers: string[] = []
  beforeAll(async () => {
    h = await startAccounts()
    owner = await signIn(h, 'alice')
    stranger = await signIn(h, 'carol')
    root = await signIn(h, 'root')
    sid = (await body<{ session: { id: string } }>(await owner.request('/api/sessions', { json: { title: 'matrix' } }))).session.id
    pid = (await body<{ agent: { id: string } }>(await owner.request('/api/agents', { json: { name: 'mine', provider: 'anthropic', credential: SECRET } }))).agent.id
    tokens.viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid, subject: 'v1' })
    tokens.shareLink = await h.app.issueToken({ role: 'collaborator', sessionId: sid })
    tokens.collaborator = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: 'c1' })
    tokens.worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent' })
    tokens.otherAdmin = await h.app.issueToken({ role: 'admin', sessionId: 'another' })
    tokens.scopedKey = (await body<{ key: string }>(await owner.request('/api/keys', { json: { name: 's', sessionId: sid, role: 'collaborator' } }))).key
    tokens.ownerKey = (await body<{ key: string }>(await owner.request('/api/keys', { json: { name: 'u' } }))).key
  })
  afterAll(() => h.close())

  const as = async (token: string, path: string, method = 'GET', json?: unknown) => {
    const res = await h.app.fetch(
      new Request(`${APP}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      }),
    )
    answers.push(await res.clone().text())
    return res.status
  }

  it('session tokens and a scoped key: 403 on every method; an admin token for one session is not an admin', async () => {
    for (const role of ['viewer', 'shareLink', 'collaborator', 'worker', 'otherAdmin', 'scopedKey']) {
      const t = tokens[role] as string
      expect(await as(t, '/api/agents'), role).toBe(403)
      expect(await as(t, '/api/agents', 'POST', { name: 'x' }), role).toBe(403)
      expect(await as(t, `/api/agents/${pid}`), role).toBe(403)
      expect(await as(t, `/api/agents/${pid}`, 'PATCH', { name: 'x' }), role).toBe(403)
      expect(await as(t, `/api/agents/${pid}`, 'DELETE'), role).toBe(403)
    }
  })

  it('an admin token for all sessions reads and lists every profile but cannot create or change one', async () => {
    expect(await as(h.adminToken, '/api/agents')).toBe(200)
    expect(answers.at(-1)).toContain(pid)
    expect(await as(h.adminToken, `/api/agents/${pid}`)).toBe(200)
    expect(await as(h.adminToken, '/api/agents', 'POST', { name: 'x' })).toBe(403)
    expect(await as(h.adminToken, `/api/agents/${pid}`, 'PATCH', { name: 'x' })).toBe(403)
  })

  it('the owner (cookie or unscoped key) does everything; a stranger sees nothing (404); an admin person lists all with ?all=1', async () => {
    expect(await as(tokens.ownerKey as string, `/api/agents/${pid}`, 'PATCH', { description: 'by key' })).toBe(200)
    expect((await owner.request(`/api/agents/${pid}`)).status).toBe(200)
    for (const [method, json] of [['GET'], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await stranger.request(`/api/agents/${pid}`, { method, ...(json ? { json } : {}) })
      expect(res.status, method).toBe(404)
    }
    expect((await body<{ agents: unknown[] }>(await stranger.request('/api/agents'))).agents).toEqual([])
    expect((await body<{ agents: Array<{ id: string }> }>(await root.request('/api/agents'))).agents).toEqual([])
    const all = await root.request('/api/agents?all=1')
    const text = await all.text()
    answers.push(text)
    expect(text).toContain(pid)
    // A cookie write from another site is refused (CSRF), like every cookie write.
    expect((await owner.request(`/api/agents/${pid}`, { method: 'PATCH', json: { name: 'x' }, origin: 'https://evil.example' })).status).toBe(403)
  })

  it('no answer held the credential', () => {
    expect(answers.length).toBeGreaterThan(30)
    for (const a of answers) expect(a).not.toContain(SECRET)
  })
})
