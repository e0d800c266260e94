/**
 * The quota endpoints (specs/security.md rows for /api/users/:id/quotas) tried with every token
 * role, the person themself (cookie, personal key, scoped key), another person, an admin person
 * and no credentials: each gets what its row says. Bad input is refused with a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, body, signIn, type TestBrowser } from '../lib/accounts/support'
import { startWithLimits, userIdOf, withToken, type QuotaHarness } from '../lib/accounts/quotas-support'

describe('quota endpoints × roles', () => {
  let h: QuotaHarness
  let alice: TestBrowser
  let bob: TestBrowser
  let root: TestBrowser
  let aliceId: string
  const tokens: Record<string, string> = {}
  beforeAll(async () => {
    h = await startWithLimits({ quotas: { concurrentSessions: 5 } })
    alice = await signIn(h, 'alice')
    bob = await signIn(h, 'bob')
    root = await signIn(h, 'root')
    aliceId = await userIdOf(alice)
    const sid = (await body<{ session: { id: string } }>(await alice.request('/api/sessions', { json: {} }))).session.id
    tokens.viewer = await h.app.issueToken({ role: 'viewer', sessionId: sid, subject: aliceId })
    tokens.collaborator = await h.app.issueToken({ role: 'collaborator', sessionId: sid, subject: aliceId })
    tokens.worker = await h.app.issueToken({ role: 'worker', sessionId: sid, subject: 'agent' })
    tokens.sessionAdmin = await h.app.issueToken({ role: 'admin', sessionId: sid })
    tokens.key = (await body<{ key: string }>(await alice.request('/api/keys', { json: { name: 'k' } }))).key
    tokens.scopedKey = (await body<{ key: string }>(await alice.request('/api/keys', { json: { name: 's', sessionId: sid, role: 'collaborator' } }))).key
  })
  afterAll(() => h.close())

  const path = () => `/api/users/${aliceId}/quotas`

  it('GET: an admin (token or person) and the person themself; no other role, person or key scoped to a session', async () => {
    expect((await withToken(h, h.adminToken, path())).status).toBe(200)
    expect((await root.request(path())).status).toBe(200)
    const own = await alice.request(path())
    expect(own.status).toBe(200)
    expect(await body(own)).toMatchObject({ userId: aliceId, limits: { concurrentSessions: 5 }, usage: { concurrentSessions: 1, sessionsPerDay: 1 } })
    expect((await alice.request('/api/users/me/quotas')).status).toBe(200)
    expect((await withToken(h, tokens.key as string, '/api/users/me/quotas')).status).toBe(200)
    for (const role of ['viewer', 'collaborator', 'worker', 'sessionAdmin', 'scopedKey']) {
      const res = await withToken(h, tokens[role] as string, path())
      expect(res.status, role).toBe(403)
      expect((await body<{ error: string }>(res)).error, role).toBe("only an admin or the person themself may read a person's quotas")
    }
    expect((await withToken(h, tokens.scopedKey as string, '/api/users/me/quotas')).status).toBe(403)
    expect((await bob.request(path())).status).toBe(403)
    expect((await h.app.fetch(new Request(`${APP}${path()}`))).status).toBe(401)
  })

  it('PUT: admins only; the person themself cannot raise their own quota', async () => {
    for (const role of ['viewer', 'collaborator', 'worker', 'sessionAdmin', 'key', 'scopedKey']) {
      const res = await withToken(h, tokens[role] as string, path(), { method: 'PUT', json: { concurrentSessions: 100 } })
      expect(res.status, role).toBe(403)
    }
    const self = await alice.request(path(), { method: 'PUT', json: { concurrentSessions: 100 } })
    expect(self.status).toBe(403)
    expect((await body<{ error: string }>(self)).error).toBe('only an admin may set quotas')
    expect((await bob.request(path(), { method: 'PUT', json: { concurrentSessions: 100 } })).status).toBe(403)
    expect((await h.app.fetch(new Request(`${APP}${path()}`, { method: 'PUT', body: '{}' }))).status).toBe(401)
    // Nothing changed.
    expect((await body<{ limits: { concurrentSessions: number } }>(await alice.request(path()))).limits.concurrentSessions).toBe(5)
    // An admin person may (same-origin cookie), and the change is audited.
    const byRoot = await root.request(path(), { method: 'PUT', json: { concurrentSessions: 7 } })
    expect(byRoot.status).toBe(200)
    expect((await body<{ overrides: unknown }>(byRoot)).overrides).toEqual({ concurrentSessions: 7 })
    const audit = (await body<{ entries: { action: string; target: string; detail?: unknown }[] }>(await withToken(h, h.adminToken, '/api/audit'))).entries
    expect(audit.filter((e) => e.action === 'quota.change')).toContainEqual(expect.objectContaining({ target: aliceId, detail: { quotas: { concurrentSessions: 7 } } }))
  })

  it('bad input gets a 4xx with a reason', async () => {
    const put = (json: unknown) => withToken(h, h.adminToken, path(), { method: 'PUT', json })
    const negative = await put({ concurrentSessions: -1 })
    expect(negative.status).toBe(400)
    expect((await body<{ error: string }>(negative)).error).toMatch(/^concurrentSessions: /)
    const unknown = await put({ maxSessions: 3 })
    expect(unknown.status).toBe(400)
    expect((await put({ sessionsPerDay: 1.5 })).status).toBe(400)
    expect((await put({ monthlySpendUsd: '10' })).status).toBe(400)
    const nobody = await withToken(h, h.adminToken, '/api/users/u_nobody/quotas')
    expect(nobody.status).toBe(404)
    expect((await body<{ error: string }>(nobody)).error).toBe('unknown user u_nobody')
    expect((await withToken(h, h.adminToken, '/api/users/me/quotas')).status).toBe(403)
    expect((await withToken(h, h.adminToken, `/api/users/${aliceId}`)).status).toBe(404)
    expect((await withToken(h, h.adminToken, path(), { method: 'DELETE' })).status).toBe(405)
  })
})
