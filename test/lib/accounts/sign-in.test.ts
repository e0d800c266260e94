import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { APP, TestBrowser, body, signIn, startAccounts, type AccountsHarness } from './support'

type Me = { user: { id: string; name: string; email: string; admin: boolean; provider: string } | null; providers: string[] }

describe('sign-in through a real OpenID provider', () => {
  let h: AccountsHarness
  beforeAll(async () => {
    h = await startAccounts()
  })
  afterAll(() => h.close())

  it('signs a person in: an http-only SameSite=Lax cookie holding no token, /api/auth/me names them, the same person twice is one account', async () => {
    const browser = await signIn(h, 'alice')
    const cookie = browser.appSetCookies.find((c) => c.startsWith('tether_signin='))
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Lax/)
    expect(cookie).not.toMatch(/Secure/) // http public URL; https gets Secure and __Host- (cookies.ts)
    const value = browser.jar.get(APP)?.get('tether_signin') ?? ''
    expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/) // opaque random, not a JWT
    const me = await body<Me>(await browser.request('/api/auth/me'))
    expect(me.providers).toEqual(['oidc'])
    expect(me.user).toMatchObject({ name: 'Alice Example', email: 'alice@example.test', provider: 'oidc', admin: false })
    const again = await body<Me>(await (await signIn(h, 'alice')).request('/api/auth/me'))
    expect(again.user?.id).toBe(me.user?.id)
    // The database keeps the cookie's hash, never the cookie.
    const sqlite = h.app.streams?.sqlite
    const rows = sqlite?.prepare('select id_hash from account_sessions').all() as { id_hash: string }[]
    expect(rows.length).toBeGreaterThanOrEqual(2)
    expect(rows.some((r) => r.id_hash === value)).toBe(false)
  })

  it('an admin is a verified email in the admin list; the same email unverified is not', async () => {
    const root = await body<Me>(await (await signIn(h, 'root')).request('/api/auth/me'))
    expect(root.user?.admin).toBe(true)
    const fake = await body<Me>(await (await signIn(h, 'unverified')).request('/api/auth/me'))
    expect(fake.user?.admin).toBe(false)
  })

  it('sign-out ends the sign-in on the server: the old cookie no longer works anywhere', async () => {
    const browser = await signIn(h, 'bob')
    const stolen = browser.cookieHeader(APP)
    expect((await browser.request('/api/sessions')).status).toBe(200)
    const out = await browser.request('/api/auth/logout', { method: 'POST' })
    expect(out.status).toBe(204)
    expect(out.headers.get('set-cookie')).toMatch(/^tether_signin=; .*Max-Age=0/)
    const replay = await h.app.fetch(new Request(`${APP}/api/sessions`, { headers: { cookie: stolen } }))
    expect(replay.status).toBe(401)
    expect(((await replay.json()) as { error: string }).error).toMatch(/signed out/)
    expect((await body<Me>(await h.app.fetch(new Request(`${APP}/api/auth/me`, { headers: { cookie: stolen } })))).user).toBeNull()
  })

  it('a callback finished in another browser than the one that started it is refused (login CSRF)', async () => {
    const victim = new TestBrowser(h.app)
    const attacker = new TestBrowser(h.app)
    h.idp.signInAs('carol')
    // The attacker starts a login and stops at the callback URL; the victim is made to open it.
    const start = await attacker.request('/api/auth/login?provider=oidc')
    let url = start.headers.get('location') as string
    for (let i = 0; i < 10 && !url.startsWith(APP); i++) url = new URL((await attacker.request(url)).headers.get('location') as string, url).href
    expect(url).toContain('/api/auth/callback?')
    const res = await victim.request(url)
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(/another browser/)
    expect(victim.jar.get(APP)?.get('tether_signin')).toBeUndefined()
  })

  it('returnTo stays on this site; an unknown provider gets 400 with the ones on offer', async () => {
    const browser = new TestBrowser(h.app)
    h.idp.signInAs('carol')
    const { visited } = await browser.navigate('/api/auth/login?provider=oidc&returnTo=//evil.example/x')
    expect(visited.at(-1)).toBe(`${APP}/`)
    const res = await browser.request('/api/auth/login?provider=gitlab')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toBe('unknown provider gitlab: this server offers oidc')
  })

  it('the provider refusing (nobody signs in) is a 400 with its reason, and no cookie', async () => {
    const browser = new TestBrowser(h.app)
    h.idp.signInAs('')
    const { res } = await browser.navigate('/api/auth/login?provider=oidc')
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: string }).error).toMatch(/access_denied/)
    expect(browser.jar.get(APP)?.get('tether_signin')).toBeUndefined()
  })
})

describe('with no identity provider configured', () => {
  let h: AccountsHarness
  beforeAll(async () => {
    h = await startAccounts({ providers: {} })
  })
  afterAll(() => h.close())

  it('sign-in is off: me lists no provider, login is 404, a cookie is ignored, tokens work as before', async () => {
    expect(await body<Me>(await h.app.fetch(new Request(`${APP}/api/auth/me`)))).toEqual({ user: null, providers: [] })
    expect((await h.app.fetch(new Request(`${APP}/api/auth/login`))).status).toBe(404)
    const withCookie = await h.app.fetch(new Request(`${APP}/api/sessions`, { headers: { cookie: 'tether_signin=whatever' } }))
    expect(withCookie.status).toBe(401)
    expect(((await withCookie.json()) as { error: string }).error).toMatch(/^missing token/)
    expect((await h.app.fetch(new Request(`${APP}/api/keys`, { headers: { cookie: 'tether_signin=whatever' } }))).status).toBe(404)
    expect((await h.app.fetch(new Request(`${APP}/api/sessions/x/members`, { headers: { authorization: `Bearer ${h.adminToken}` } }))).status).toBe(404)
    const ok = await h.app.fetch(new Request(`${APP}/api/sessions`, { headers: { authorization: `Bearer ${h.adminToken}` } }))
    expect(ok.status).toBe(200)
  })
})
