import { statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREDENTIALS_KEY_FILE } from '../../../src/lib/accounts/credential-cipher'
import { APP, body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from './support'

type Profile = { id: string; userId: string; name: string; adapter: string; provider: string | null; model: string | null; credential: { set: boolean; updatedAt: number | null } }
type Session = { id: string; agent: Record<string, unknown>; agents: Array<Record<string, unknown>>; limits: { maxBudgetUsd: number | null; maxTurns: number | null } }
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error
const CANARY = 'sk-ant-profile-test-7f3a9c1d'

describe('personal agent profiles', () => {
  let h: AccountsHarness
  let alice: TestBrowser
  let bob: TestBrowser
  let root: TestBrowser
  let aliceId: string
  let dataDir: string
  beforeAll(async () => {
    h = await startAccounts()
    alice = await signIn(h, 'alice')
    bob = await signIn(h, 'bob')
    root = await signIn(h, 'root')
    aliceId = (await body<{ user: { id: string } }>(await alice.request('/api/auth/me'))).user.id
    dataDir = dirname(String(h.app.streams?.sqlite.name))
  })
  afterAll(() => h.close())

  const create = async (b: TestBrowser, input: Record<string, unknown>) => {
    const res = await b.request('/api/agents', { json: input })
    expect(res.status, await res.clone().text()).toBe(201)
    return (await body<{ agent: Profile }>(res)).agent
  }

  it('a profile is created, listed, read and changed by its owner; the credential is only ever "set" or not', async () => {
    const p = await create(alice, { name: 'Claude helper', adapter: 'claude-agent-sdk', provider: 'anthropic', model: 'claude-sonnet-4', credential: CANARY, limits: { maxTurns: 7 } })
    expect(p).toMatchObject({ userId: aliceId, name: 'Claude helper', adapter: 'claude-agent-sdk', credential: { set: true } })
    const listed = await alice.request('/api/agents')
    const text = await listed.text()
    expect(text).toContain(p.id)
    expect(text).not.toContain(CANARY)
    expect(text).not.toContain(CANARY.slice(-8))
    const renamed = await alice.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { name: 'Renamed' } })
    expect((await body<{ agent: Profile }>(renamed)).agent).toMatchObject({ name: 'Renamed', credential: { set: true } })
    const cleared = await alice.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { credential: null } })
    expect((await body<{ agent: Profile }>(cleared)).agent.credential.set).toBe(false)
    expect(await h.app.accounts.providerEnvFor({ agents: [{ id: 'agent', name: 'a', profileId: p.id, limits: { maxBudgetUsd: null, maxTurns: null } }] } as never, 'agent')).toBeNull()
    const replaced = await alice.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { credential: `${CANARY}-2` } })
    expect((await body<{ agent: Profile }>(replaced)).agent.credential.set).toBe(true)
  })

  it('the database holds only ciphertext; the key is a 0600 file in the data dir; a row copied to another profile does not decrypt', async () => {
    const p = await create(alice, { name: 'sealed', provider: 'anthropic', model: 'claude-x', credential: CANARY })
    const db = h.app.streams?.sqlite
    const row = db?.prepare('select * from agent_profiles where id = ?').get(p.id) as Record<string, unknown>
    expect(JSON.stringify(row)).not.toContain(CANARY)
    expect(row.credential_ciphertext).toEqual(expect.any(String))
    expect(row.credential_iv).toEqual(expect.any(String))
    expect(row.credential_tag).toEqual(expect.any(String))
    expect(statSync(join(dataDir, CREDENTIALS_KEY_FILE)).mode & 0o777).toBe(0o600)
    const other = await create(alice, { name: 'victim', provider: 'anthropic', model: 'claude-x' })
    db?.prepare('update agent_profiles set credential_ciphertext = ?, credential_iv = ?, credential_tag = ? where id = ?').run(row.credential_ciphertext, row.credential_iv, row.credential_tag, other.id)
    const otherRow = (await h.app.accounts.profiles.get(other.id))!
    expect(() => h.app.accounts.profiles.credentialOf(otherRow)).toThrow()
    // The gateway then refuses the call (503) instead of paying it with the server's keys.
    const agentOf = (profileId: string) => ({ agents: [{ id: 'agent', name: 'a', profileId, limits: { maxBudgetUsd: null, maxTurns: null } }] }) as never
    await expect(h.app.accounts.providerEnvFor(agentOf(other.id), 'agent')).rejects.toMatchObject({ status: 503, field: 'credential' })
    expect(h.app.accounts.profiles.credentialOf((await h.app.accounts.profiles.get(p.id))!)).toBe(CANARY)
  })

  it('bad input gets 400 with a reason; a stranger cannot see, change or delete a profile (404)', async () => {
    const bad = await alice.request('/api/agents', { json: { name: '', adapter: 'nope' } })
    expect(bad.status).toBe(400)
    expect(await errorOf(bad)).toMatch(/name|adapter/)
    const spaced = await alice.request('/api/agents', { json: { name: 'x', credential: 'has a space inside' } })
    expect(spaced.status).toBe(400)
    expect(await errorOf(spaced)).toContain('no spaces')
    const p = await create(alice, { name: 'private' })
    expect((await bob.request(`/api/agents/${p.id}`)).status).toBe(404)
    expect((await bob.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { name: 'mine now' } })).status).toBe(404)
    expect((await bob.request(`/api/agents/${p.id}`, { method: 'DELETE' })).status).toBe(404)
    expect((await body<{ agents: Profile[] }>(await bob.request('/api/agents'))).agents).toEqual([])
  })

  it('admins list, read and delete every profile (never the credential) but cannot change one', async () => {
    const p = await create(alice, { name: 'for admin', provider: 'anthropic', credential: CANARY })
    const all = await root.request('/api/agents?all=1')
    const text = await all.text()
    expect(text).toContain(p.id)
    expect(text).not.toContain(CANARY)
    expect((await root.request(`/api/agents/${p.id}`)).status).toBe(200)
    expect((await root.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { name: 'x' } })).status).toBe(404)
    const token = await h.app.fetch(new Request(`${APP}/api/agents`, { headers: { authorization: `Bearer ${h.adminToken}` } }))
    expect(await token.text()).toContain(p.id)
    expect((await root.request(`/api/agents/${p.id}`, { method: 'DELETE' })).status).toBe(204)
    expect((await alice.request(`/api/agents/${p.id}`)).status).toBe(404)
  })

  it('a session from a profile takes its adapter, provider, model, prompt, tools and limits (request fields win) and keeps profileId', async () => {
    const p = await create(alice, { name: 'Writer', adapter: 'opencode', provider: 'anthropic', model: 'claude-a', systemPrompt: 'be brief', allowedTools: ['bash'], limits: { maxBudgetUsd: 2, maxTurns: 5 }, credential: CANARY })
    const res = await alice.request('/api/sessions', { json: { title: 'from profile', agentProfileId: p.id, limits: { maxTurns: 9 } } })
    expect(res.status, await res.clone().text()).toBe(201)
    const s = (await body<{ session: Session }>(res)).session
    expect(s.agent).toEqual({ adapter: 'opencode', provider: 'anthropic', model: 'claude-a', systemPrompt: 'be brief', allowedTools: ['bash'], profileId: p.id })
    expect(s.limits).toMatchObject({ maxBudgetUsd: 2, maxTurns: 9 })
    expect(await (await alice.request(`/api/sessions/${s.id}`)).text()).not.toContain(CANARY)
    expect(await h.app.accounts.providerEnvFor(s as never, 'agent')).toEqual({ ANTHROPIC_API_KEY: CANARY })

    const multi = await alice.request('/api/sessions', { json: { pattern: 'single-container', agents: [{ id: 'w', profileId: p.id, model: 'echo' }, { id: 'e', model: 'echo' }] } })
    expect(multi.status, await multi.clone().text()).toBe(201)
    const m = (await body<{ session: Session }>(multi)).session
    expect(m.agents[0]).toMatchObject({ id: 'w', name: 'Writer', model: 'echo', adapter: 'opencode', profileId: p.id, limits: { maxBudgetUsd: 2, maxTurns: 5 } })
    expect(m.agents[1]).not.toHaveProperty('profileId')
    expect(await h.app.accounts.providerEnvFor(m as never, 'e')).toBeNull()

    const added = await alice.request(`/api/sessions/${m.id}/agents`, { json: { id: 'x', profileId: p.id } })
    expect(added.status, await added.clone().text()).toBe(201)
    expect((await body<{ session: Session }>(added)).session.agents.find((a) => a.id === 'x')).toMatchObject({ model: 'claude-a', profileId: p.id })
  })

  it("someone else's profile is refused (403) and an unknown one is 404; an admin may use any", async () => {
    const p = await create(alice, { name: 'not for bob', model: 'echo' })
    const denied = await bob.request('/api/sessions', { json: { agentProfileId: p.id } })
    expect(denied.status).toBe(403)
    expect(await errorOf(denied)).toContain('only the owner of an agent profile')
    expect((await bob.request('/api/sessions', { json: { agents: [{ id: 'a', profileId: p.id }] } })).status).toBe(403)
    expect((await bob.request('/api/sessions', { json: { agent: { profileId: p.id } } })).status).toBe(403)
    const bobSession = (await body<{ session: Session }>(await bob.request('/api/sessions', { json: { title: 'bob' } }))).session
    expect((await bob.request(`/api/sessions/${bobSession.id}/agents`, { json: { id: 'stolen', profileId: p.id } })).status).toBe(403)
    const unknown = await alice.request('/api/sessions', { json: { agentProfileId: 'agp_nope' } })
    expect(unknown.status).toBe(404)
    expect(await errorOf(unknown)).toBe('unknown agent profile agp_nope')
    expect((await root.request('/api/sessions', { json: { agentProfileId: p.id } })).status).toBe(201)
  })

  it('create, update and delete are in the audit log, without the credential', async () => {
    const p = await create(alice, { name: 'audited', credential: CANARY })
    await alice.request(`/api/agents/${p.id}`, { method: 'PATCH', json: { credential: `${CANARY}-x` } })
    await alice.request(`/api/agents/${p.id}`, { method: 'DELETE' })
    const audit = await h.app.fetch(new Request(`${APP}/api/audit`, { headers: { authorization: `Bearer ${h.adminToken}` } }))
    const text = await audit.text()
    expect(text).not.toContain(CANARY)
    const actions = (JSON.parse(text) as { entries: Array<{ action: string; target: string }> }).entries.filter((e) => e.target === p.id).map((e) => e.action)
    expect(actions).toEqual(['agent.create', 'agent.update', 'agent.delete'])
  })
})

describe('personal agent profiles without an identity provider', () => {
  it('are off: /api/agents is 404 and a session naming a profile is 404', async () => {
    const h = await startAccounts({ providers: {} })
    try {
      const res = await h.app.fetch(new Request(`${APP}/api/agents`, { headers: { authorization: `Bearer ${h.adminToken}` } }))
      expect(res.status).toBe(404)
      expect(await errorOf(res)).toContain('no identity provider')
      const s = await h.app.fetch(
        new Request(`${APP}/api/sessions`, { method: 'POST', headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ agentProfileId: 'agp_x' }) }),
      )
      expect(s.status).toBe(404)
    } finally {
      await h.close()
    }
  })
})
