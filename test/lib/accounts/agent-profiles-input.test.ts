/**
 * `/api/agents` and `/api/users/:id/quotas` against odd spellings and bad bodies: each gets a 4xx
 * with a reason, nothing is stored, and the server goes on answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from './support'

describe('agent profile and quota endpoints refuse odd input', () => {
  let h: AccountsHarness
  let alice: TestBrowser
  let root: TestBrowser
  beforeAll(async () => {
    h = await startAccounts()
    alice = await signIn(h, 'alice')
    root = await signIn(h, 'root')
  })
  afterAll(() => h.close())

  const count = async () => (await body<{ agents: unknown[] }>(await alice.request('/api/agents'))).agents.length

  it('refuses over-size (413), over-deep and malformed bodies on /api/agents, and stores nothing', async () => {
    const before = await count()
    expect((await alice.request('/api/agents', { json: { name: 'big', systemPrompt: 'x'.repeat(17 * 1024 * 1024) } })).status).toBe(413)
    const deep = (await alice.request('/api/agents', { json: JSON.parse(`${'['.repeat(200)}${']'.repeat(200)}`) }))
    expect(deep.status).toBe(400)
    expect(await deep.text()).toMatch(/deeper|nest/)
    for (const json of [{ name: 'x', adapter: 'bash' }, { name: 'x', admin: true }, { name: 42 }, 'agent']) {
      const res = await alice.request('/api/agents', { json })
      expect(res.status).toBe(400)
      expect((await res.text()).length).toBeGreaterThan(0)
    }
    expect(await count()).toBe(before)
  })

  it('odd spellings of a profile path are 404, not someone else’s profile', async () => {
    for (const path of ['/api/agents/AGP_x', '/api/agents/%2E%2E%2Fkeys', '/api/agents/a%2Fb', '/api/agents/%20']) {
      const res = await alice.request(path)
      expect(res.status, path).toBe(404)
    }
    const ok = await alice.request('/api/agents', { json: { name: 'still serving' } })
    expect(ok.status).toBe(201)
  })

  it('refuses an over-size quota body (413) and a malformed one (400)', async () => {
    const id = (await body<{ user: { id: string } }>(await alice.request('/api/auth/me'))).user.id
    const big = await root.request(`/api/users/${id}/quotas`, { method: 'PUT', json: { concurrentSessions: 1, pad: 'x'.repeat(8192) } })
    expect(big.status).toBe(413)
    const bad = await root.request(`/api/users/${id}/quotas`, { method: 'PUT', json: { concurrentSessions: -3 } })
    expect(bad.status).toBe(400)
  })
})
