import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, body, signIn, startAccounts, type AccountsHarness, type TestBrowser } from './support'

type Key = { key?: string; id: string; name: string; prefix: string; sessionId: string | null; role: string | null; lastUsedAt: number | null }
const errorOf = async (res: Response) => ((await res.json()) as { error: string }).error

describe('personal API keys', () => {
  let h: AccountsHarness
  let alice: TestBrowser
  let aliceId: string
  beforeAll(async () => {
    h = await startAccounts()
    alice = await signIn(h, 'alice')
    aliceId = (await body<{ user: { id: string } }>(await alice.request('/api/auth/me'))).user.id
  })
  afterAll(() => h.close())

  const withKey = (key: string, path: string, init: RequestInit = {}) =>
    h.app.fetch(new Request(`${APP}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } }))
  const newKey = async (input: Record<string, unknown>) => {
    const res = await alice.request('/api/keys', { json: input })
    expect(res.status).toBe(201)
    return body<Key>(res)
  }

  it('a key is shown once, stored as a hash, listed without it, and works as Bearer on the API, the writer and the raw protocol', async () => {
    const k = await newKey({ name: 'laptop script' })
    expect(k.key).toMatch(/^tk_[A-Za-z0-9_-]{43}$/)
    expect(k.prefix).toBe(k.key?.slice(0, 8))
    const listed = await body<{ keys: Key[] }>(await alice.request('/api/keys'))
    expect(listed.keys.map((x) => [x.id, x.name, 'key' in x])).toEqual([[k.id, 'laptop script', false]])
    const stored = h.app.streams?.sqlite.prepare('select key_hash from api_keys where id = ?').get(k.id) as { key_hash: string }
    expect(stored.key_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(stored.key_hash).not.toContain(k.key?.slice(3, 20))

    const created = await withKey(k.key as string, '/api/sessions', { method: 'POST', body: JSON.stringify({ title: 'by key' }) })
    expect(created.status).toBe(201)
    const { session } = await body<{ session: { id: string; createdBy: string } }>(created)
    expect(session.createdBy).toBe(aliceId)
    const write = await withKey(k.key as string, `/api/streams?sessionId=${session.id}`, {
      method: 'POST',
      body: JSON.stringify({ channel: 'chunk', data: { messageId: 'k1', role: 'user', author: aliceId, turn: 0, seq: 0, delta: 'hi' } }),
    })
    expect(write.status).toBe(200)
    const read = await withKey(k.key as string, `/api/streams/sessions/${session.id}?offset=-1`)
    expect(read.status).toBe(200)
    expect(await read.text()).toContain('"k1"')
    expect((await withKey(k.key as string, `/v1/stream/sessions/${session.id}?offset=-1`)).status).toBe(200)
    // A key needs no Origin: it is not a cookie.
    expect((await body<{ keys: Key[] }>(await alice.request('/api/keys'))).keys[0]?.lastUsedAt).not.toBeNull()
  })

  it('a scoped key acts on its one session with its role, never more than the person has', async () => {
    const other = (await body<{ session: { id: string } }>(await alice.request('/api/sessions', { json: { title: 'other' } }))).session.id
    const mine = (await body<{ session: { id: string } }>(await alice.request('/api/sessions', { json: { title: 'scoped' } }))).session.id
    const k = await newKey({ name: 'reader', sessionId: mine, role: 'viewer' })
    expect((await withKey(k.key as string, `/api/streams/sessions/${mine}?offset=-1`)).status).toBe(200)
    expect((await withKey(k.key as string, `/api/streams/sessions/${other}?offset=-1`)).status).toBe(403)
    expect((await withKey(k.key as string, `/api/sessions/${mine}/messages`, { method: 'POST', body: '{"text":"x"}' })).status).toBe(403)
    expect((await withKey(k.key as string, '/api/sessions', { method: 'POST', body: '{}' })).status).toBe(403)
    const list = await body<{ sessions: { id: string }[] }>(await withKey(k.key as string, '/api/sessions'))
    expect(list.sessions.map((s) => s.id)).toEqual([mine])
    // Not on someone else's session, and not half a scope.
    const bob = await signIn(h, 'bob')
    const denied = await bob.request('/api/keys', { json: { name: 'x', sessionId: mine, role: 'collaborator' } })
    expect(denied.status).toBe(403)
    expect(await errorOf(denied)).toBe(`you have no role on session ${mine}`)
    const half = await alice.request('/api/keys', { json: { name: 'x', sessionId: mine } })
    expect(half.status).toBe(400)
    expect(await errorOf(half)).toBe('role: a scoped key needs both sessionId and role')
  })

  it('revoking a key ends it at once; a key cannot manage keys; others cannot revoke mine', async () => {
    const k = await newKey({ name: 'short-lived' })
    expect((await withKey(k.key as string, '/api/keys')).status).toBe(401)
    expect((await withKey(k.key as string, '/api/keys', { method: 'POST', body: '{"name":"more"}' })).status).toBe(401)
    const bob = await signIn(h, 'bob')
    expect((await bob.request(`/api/keys/${k.id}`, { method: 'DELETE' })).status).toBe(404)
    expect((await withKey(k.key as string, '/api/sessions')).status).toBe(200)
    expect((await alice.request(`/api/keys/${k.id}`, { method: 'DELETE' })).status).toBe(204)
    const after = await withKey(k.key as string, '/api/sessions')
    expect(after.status).toBe(401)
    expect(await errorOf(after)).toBe('unknown or revoked API key')
    // A made-up key is refused the same way, and a JWT still goes to the token check.
    expect((await withKey('tk_made-up', '/api/sessions')).status).toBe(401)
    expect((await withKey(h.adminToken, '/api/sessions')).status).toBe(200)
  })

  it('bad input gets 400 with the field', async () => {
    for (const [input, field] of [
      [{}, 'name'],
      [{ name: 'a\u0007b' }, 'name'],
      [{ name: 'x', role: 'admin', sessionId: 's' }, 'role'],
      [{ name: 'x', extra: 1 }, 'body'],
    ] as const) {
      const res = await alice.request('/api/keys', { json: input })
      expect(res.status, JSON.stringify(input)).toBe(400)
      expect(((await res.json()) as { field: string }).field).toBe(field)
    }
  })
})
