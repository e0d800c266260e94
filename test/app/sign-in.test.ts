/**
 * Issue #11, bar 1 (the accounts part): two people sign in through a real OpenID provider started
 * by the test, one creates a session and invites the other by account, both write in it from the
 * page, a viewer invite cannot write, and signing out ends access (the old cookie no longer reads
 * the stream). Personal agents are the next part of the issue (specs/accounts.md).
 */
import { describe, expect, it } from 'vitest'
import { say, setupSignInApp } from '../support/oidc-sign-in'
import { messageTexts, until } from './support'

const app = setupSignInApp()

describe('people sign in and collaborate by account (issue #11)', () => {
  it('two people sign in, one invites the other, both write; a viewer cannot; sign-out ends access', async () => {
    const alice = await app.signIn('alice')
    const bob = await app.signIn('bob')
    const carol = await app.signIn('carol')
    // The cookie is http-only: the page's scripts cannot read it.
    expect(await alice.page.evaluate(() => document.cookie)).not.toContain('tether_signin')

    const created = await alice.post('/api/sessions', { title: 'Pairing', pattern: 'long-running' })
    expect(created.status()).toBe(201)
    const { session } = (await created.json()) as { session: { id: string } }
    expect((await alice.post(`/api/sessions/${session.id}/members`, { email: 'bob@example.test', role: 'collaborator' })).status()).toBe(
      201,
    )
    expect((await alice.post(`/api/sessions/${session.id}/members`, { email: 'carol@example.test', role: 'viewer' })).status()).toBe(201)

    // Bob finds it in his list (the home page lists his sessions by cookie).
    await bob.page.goto(app.server.url)
    await bob.page.getByText('Pairing').first().waitFor()

    for (const p of [alice, bob]) await p.page.goto(`${app.server.url}/sessions/${session.id}`)
    await say(alice, 'hello from alice')
    await say(bob, 'hello from bob')
    for (const p of [alice, bob]) {
      await until(p.page, 'both messages', async () => {
        const texts = (await messageTexts(p.page)).filter((m) => m.role === 'user' && m.pending === 'false').map((m) => m.text)
        return texts.includes('hello from alice') && texts.includes('hello from bob')
      })
    }

    // Carol, a viewer, reads but cannot write.
    const carolRead = await carol.get(`/api/streams/sessions/${session.id}?offset=-1`)
    expect(carolRead.status()).toBe(200)
    expect(await carolRead.text()).toContain('hello from bob')
    const carolWrite = await carol.post(`/api/sessions/${session.id}/messages`, { text: 'may I?' })
    expect(carolWrite.status()).toBe(403)

    // Bob signs out from the page: his old cookie no longer reads the stream.
    const [cookie] = (await bob.context.cookies(app.server.url)).filter((c) => c.name === 'tether_signin')
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Lax')
    await bob.page.locator('[data-testid="sign-out"]').click()
    await bob.page.locator('[data-testid="sign-in-oidc"]').waitFor()
    const replay = await fetch(`${app.server.url}/api/streams/sessions/${session.id}?offset=-1`, {
      headers: { cookie: `tether_signin=${cookie?.value}` },
    })
    expect(replay.status).toBe(401)
    expect((await bob.get(`/api/streams/sessions/${session.id}?offset=-1`)).status()).toBe(401)
    for (const p of [alice, bob, carol]) expect(p.errors).toEqual([])
  }, 240_000)
})
