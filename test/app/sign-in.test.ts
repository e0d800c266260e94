/**
 * Issue #11, bar 1 (the accounts part): two people sign in through a real OpenID provider started
 * by the test, one creates a session and invites the other by account, both write in it from the
 * page, a viewer invite cannot write, and signing out ends access (the old cookie no longer reads
 * the stream). Personal agents are the next part of the issue (specs/accounts.md).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIdentityProvider, type TestIdentityProvider } from '../lib/accounts/identity-provider'
import { PEOPLE } from '../lib/accounts/support'
import { launchBrowser, messageTexts, newPage, startServer, until, type TestServer } from './support'

let idp: TestIdentityProvider
let server: TestServer
let browser: Browser

beforeAll(async () => {
  idp = await startIdentityProvider({ people: PEOPLE })
  server = await startServer({
    TETHER_OIDC_ISSUER: idp.issuer,
    TETHER_OIDC_CLIENT_ID: idp.clientId,
    TETHER_OIDC_CLIENT_SECRET: idp.clientSecret,
  })
  idp.setRedirectUris([`${server.url}/api/auth/callback`])
  browser = await launchBrowser()
}, 300_000)
afterAll(async () => {
  await browser?.close()
  await server?.dispose()
  await idp?.close()
})

interface Person {
  context: BrowserContext
  page: Page
  errors: string[]
  id: string
}

async function signInFromPage(who: string): Promise<Person> {
  const { context, page, errors } = await newPage(browser)
  await page.goto(server.url)
  idp.signInAs(who)
  await page.locator('[data-testid="sign-in-oidc"]').click()
  await page.locator('[data-testid="account-name"]').waitFor()
  expect(await page.locator('[data-testid="account-name"]').textContent()).toBe(PEOPLE[who]?.name)
  const me = (await (await context.request.get(`${server.url}/api/auth/me`)).json()) as { user: { id: string } }
  return { context, page, errors, id: me.user.id }
}

/** What the page's own fetch would send: the cookie and our Origin. */
const post = (p: Person, path: string, data: unknown) =>
  p.context.request.post(`${server.url}${path}`, { data, headers: { origin: server.url } })

async function say(p: Person, text: string) {
  // Live and hydrated first: keys pressed before the page listens are lost (seen once under load).
  await p.page.waitForSelector('[data-testid="connection"][data-state="live"]', { timeout: 60_000 })
  const box = p.page.locator('#composer-input')
  await until(p.page, 'the message box enabled', async () => !(await box.isDisabled()))
  await box.click()
  await p.page.keyboard.type(text)
  await until(p.page, 'the text typed', async () => (await box.inputValue()) === text)
  await p.page.keyboard.press('Enter')
  await until(p.page, 'the message box emptied (sent)', async () => (await box.inputValue()) === '')
}

describe('people sign in and collaborate by account (issue #11)', () => {
  it('two people sign in, one invites the other, both write; a viewer cannot; sign-out ends access', async () => {
    const alice = await signInFromPage('alice')
    const bob = await signInFromPage('bob')
    const carol = await signInFromPage('carol')
    // The cookie is http-only: the page's scripts cannot read it.
    expect(await alice.page.evaluate(() => document.cookie)).not.toContain('tether_signin')

    const created = await post(alice, '/api/sessions', { title: 'Pairing', pattern: 'long-running' })
    expect(created.status()).toBe(201)
    const { session } = (await created.json()) as { session: { id: string } }
    expect((await post(alice, `/api/sessions/${session.id}/members`, { email: 'bob@example.test', role: 'collaborator' })).status()).toBe(
      201,
    )
    expect((await post(alice, `/api/sessions/${session.id}/members`, { email: 'carol@example.test', role: 'viewer' })).status()).toBe(201)

    // Bob finds it in his list (the home page lists his sessions by cookie).
    await bob.page.goto(server.url)
    await bob.page.getByText('Pairing').first().waitFor()

    for (const p of [alice, bob]) await p.page.goto(`${server.url}/sessions/${session.id}`)
    await say(alice, 'hello from alice')
    await say(bob, 'hello from bob')
    for (const p of [alice, bob]) {
      await until(p.page, 'both messages', async () => {
        const texts = (await messageTexts(p.page)).filter((m) => m.role === 'user' && m.pending === 'false').map((m) => m.text)
        return texts.includes('hello from alice') && texts.includes('hello from bob')
      })
    }

    // Carol, a viewer, reads but cannot write.
    const carolRead = await carol.context.request.get(`${server.url}/api/streams/sessions/${session.id}?offset=-1`)
    expect(carolRead.status()).toBe(200)
    expect(await carolRead.text()).toContain('hello from bob')
    const carolWrite = await post(carol, `/api/sessions/${session.id}/messages`, { text: 'may I?' })
    expect(carolWrite.status()).toBe(403)

    // Bob signs out from the page: his old cookie no longer reads the stream.
    const [cookie] = (await bob.context.cookies(server.url)).filter((c) => c.name === 'tether_signin')
    expect(cookie?.httpOnly).toBe(true)
    expect(cookie?.sameSite).toBe('Lax')
    await bob.page.locator('[data-testid="sign-out"]').click()
    await bob.page.locator('[data-testid="sign-in-oidc"]').waitFor()
    const replay = await fetch(`${server.url}/api/streams/sessions/${session.id}?offset=-1`, {
      headers: { cookie: `tether_signin=${cookie?.value}` },
    })
    expect(replay.status).toBe(401)
    expect((await bob.context.request.get(`${server.url}/api/streams/sessions/${session.id}?offset=-1`)).status()).toBe(401)
    for (const p of [alice, bob, carol]) expect(p.errors).toEqual([])
  }, 240_000)
})
