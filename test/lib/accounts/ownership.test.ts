import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from './support'

type Json = Record<string, unknown>
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error

describe('people own sessions, invite others by account, and their roles hold on every path', () => {
  let h: AccountsHarness
  let alice: TestBrowser
  let bob: TestBrowser
  let carol: TestBrowser
  let bobId: string
  beforeAll(async () => {
    h = await startAccounts()
    alice = await signIn(h, 'alice')
    bob = await signIn(h, 'bob')
    carol = await signIn(h, 'carol')
    bobId = ((await body<{ user: { id: string } }>(await bob.request('/api/auth/me'))).user).id
  })
  afterAll(() => h.close())

  const create = async (b: TestBrowser, title: string) => {
    const res = await b.request('/api/sessions', { json: { title, pattern: 'long-running' } })
    expect(res.status).toBe(201)
    return (await body<{ session: { id: string; createdBy: string } }>(res)).session
  }
  const say = (b: TestBrowser, id: string, text: string, author: string) =>
    b.request(`/api/streams?sessionId=${id}`, { json: { channel: 'chunk', data: { messageId: `m-${text}`, role: 'user', author, turn: 0, seq: 0, delta: text } } })
  const ids = async (b: TestBrowser) => (await body<{ sessions: { id: string }[] }>(await b.request('/api/sessions'))).sessions.map((s) => s.id)

  it('a signed-in person creates a session (they own it) and lists only their own; others get 403 on it', async () => {
    const s = await create(alice, 'alice 1')
    const aliceId = (await body<{ user: { id: string } }>(await alice.request('/api/auth/me'))).user.id
    expect(s.createdBy).toBe(aliceId)
    const other = await create(carol, 'carol 1')
    expect(await ids(alice)).toContain(s.id)
    expect(await ids(alice)).not.toContain(other.id)
    const res = await bob.request(`/api/sessions/${s.id}`)
    expect(res.status).toBe(403)
    expect(await errorOf(res)).toBe(`token is not valid for session ${s.id}`)
    // The owner posts, reads the raw stream, and may add an agent (owner action).
    expect((await alice.request(`/api/sessions/${s.id}/messages`, { json: { text: 'hello' } })).status).toBe(201)
    expect((await alice.request(`/api/streams/sessions/${s.id}?offset=-1`)).status).toBe(200)
    expect((await alice.request(`/api/sessions/${s.id}/agents`, { json: { id: 'helper', model: 'echo' } })).status).toBe(201)
    // …but admin-only actions stay admin's.
    expect((await alice.request(`/api/sessions/${s.id}`, { method: 'DELETE' })).status).toBe(403)
  })

  it('invites by email as collaborator: the invitee lists it, writes on the writer, the API and the raw protocol; revoking ends it at once', async () => {
    const s = await create(alice, 'pair')
    const invite = await alice.request(`/api/sessions/${s.id}/members`, { json: { email: 'BOB@example.test', role: 'collaborator' } })
    expect(invite.status).toBe(201)
    expect((await body<{ member: Json }>(invite)).member).toMatchObject({ userId: bobId, role: 'collaborator', name: 'Bob Example' })
    expect(await ids(bob)).toContain(s.id)
    expect((await say(bob, s.id, 'bob-writer', bobId)).status).toBe(200)
    expect((await bob.request(`/api/sessions/${s.id}/messages`, { json: { text: 'from bob' } })).status).toBe(201)
    // Not as someone else.
    expect((await say(bob, s.id, 'forged', 'someone-else')).status).toBe(403)
    const members = await body<{ owner: Json; members: Json[] }>(await bob.request(`/api/sessions/${s.id}/members`))
    expect(members.members.map((m) => [m.userId, m.role, m.email])).toEqual([[bobId, 'collaborator', undefined]]) // emails: owner and admins only
    // A collaborator cannot invite or remove.
    expect((await bob.request(`/api/sessions/${s.id}/members`, { json: { email: 'carol@example.test', role: 'viewer' } })).status).toBe(403)
    const revoke = await alice.request(`/api/sessions/${s.id}/members/${bobId}`, { method: 'DELETE' })
    expect(revoke.status).toBe(204)
    expect((await bob.request(`/api/streams/sessions/${s.id}?offset=-1`)).status).toBe(403)
    expect((await say(bob, s.id, 'after', bobId)).status).toBe(403)
    expect(await ids(bob)).not.toContain(s.id)
  })

  it('a viewer invite reads but cannot write (writer, API, raw protocol)', async () => {
    const s = await create(alice, 'show')
    expect((await alice.request(`/api/sessions/${s.id}/members`, { json: { userId: bobId, role: 'viewer' } })).status).toBe(201)
    expect((await bob.request(`/api/streams/sessions/${s.id}?offset=-1`)).status).toBe(200)
    expect((await say(bob, s.id, 'viewer', bobId)).status).toBe(403)
    expect((await bob.request(`/api/sessions/${s.id}/messages`, { json: { text: 'no' } })).status).toBe(403)
    const raw = await bob.request(`/api/streams/sessions/${s.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      json: { type: 'chunk', key: 'x', value: { id: 'x', messageId: 'x', role: 'user', author: bobId, turn: 0, seq: 0, delta: 'x', done: true, timestamp: 1 }, headers: { operation: 'insert' } },
    })
    expect(raw.status, await raw.clone().text()).toBe(403)
  })

  it('unknown people cannot be invited: 404 with the reason; bad roles 400', async () => {
    const s = await create(alice, 'nobody')
    const res = await alice.request(`/api/sessions/${s.id}/members`, { json: { email: 'ghost@example.test', role: 'viewer' } })
    expect(res.status).toBe(404)
    expect(await errorOf(res)).toMatch(/sign in once first/)
    const bad = await alice.request(`/api/sessions/${s.id}/members`, { json: { email: 'bob@example.test', role: 'admin' } })
    expect(bad.status).toBe(400)
    expect(await errorOf(bad)).toMatch(/^role: /)
  })

  it('a cookie write must come from this site: a foreign Origin or none is 403; a token needs no Origin', async () => {
    const s = await create(alice, 'csrf')
    const foreign = await alice.request(`/api/sessions/${s.id}/messages`, { json: { text: 'x' }, origin: 'http://evil.example' })
    expect(foreign.status).toBe(403)
    expect(await errorOf(foreign)).toMatch(/must come from this site/)
    expect((await alice.request(`/api/sessions/${s.id}/messages`, { json: { text: 'x' }, origin: null })).status).toBe(403)
    expect((await alice.request('/api/sessions', { json: { title: 'x' }, origin: 'http://evil.example' })).status).toBe(403)
    const token = await h.app.fetch(
      new Request(`${APP}/api/sessions/${s.id}/messages`, { method: 'POST', headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' }, body: '{"text":"t"}' }),
    )
    expect(token.status).toBe(201)
  })

  it('an admin (verified email in TETHER_ADMIN_EMAILS) sees and manages every session', async () => {
    const s = await create(carol, 'carol 2')
    const root = await signIn(h, 'root')
    expect(await ids(root)).toContain(s.id)
    expect((await root.request(`/api/sessions/${s.id}/members`, { json: { userId: bobId, role: 'viewer' } })).status).toBe(201)
    expect((await root.request(`/api/sessions/${s.id}`, { method: 'DELETE' })).status).toBe(204)
  })
})
