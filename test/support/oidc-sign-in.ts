/**
 * People signed in through a real OpenID provider, in the page: the browser tests of issue #11
 * (test/app/sign-in, quotas, personal-agents, test/security/agent-credential-canary) start the
 * same three parts (a real `oidc-provider` on loopback, the production build with TETHER_OIDC_*
 * pointing at it, chromium) and sign people in the same way, so both live here.
 */
import type { APIResponse, Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import { launchBrowser, newPage, startServer, until, type TestServer } from '../app/support'
import { startIdentityProvider, type TestIdentityProvider } from '../lib/accounts/identity-provider'
import { PEOPLE } from '../lib/accounts/support'
import { startFakeAnthropic, type FakeAnthropic } from './fake-anthropic'

/** A person signed in from the page: their own browser context (cookie jar) and page. */
export interface SignedInPerson {
  context: BrowserContext
  page: Page
  /** Page errors and Content Security Policy reports seen on the page. */
  errors: string[]
  /** What the page's own fetch would send: the sign-in cookie and our Origin. */
  post(path: string, data: unknown): Promise<APIResponse>
  get(path: string): Promise<APIResponse>
}

export interface SignInApp {
  idp: TestIdentityProvider
  server: TestServer
  browser: Browser
  /** Signs `who` (a key of PEOPLE) in with the page's own "Sign in" button, in a new context. */
  signIn(who: string, options?: { width?: number; dark?: boolean }): Promise<SignedInPerson>
  close(): Promise<void>
}

/** The provider first: the app needs its issuer, and the provider needs the app's callback URL. */
export async function startSignInApp(env: Record<string, string> = {}): Promise<SignInApp> {
  const idp = await startIdentityProvider({ people: PEOPLE })
  let server: TestServer | undefined
  let browser: Browser | undefined
  const close = async () => {
    await browser?.close()
    await server?.dispose()
    await idp.close()
  }
  try {
    server = await startServer({
      TETHER_OIDC_ISSUER: idp.issuer,
      TETHER_OIDC_CLIENT_ID: idp.clientId,
      TETHER_OIDC_CLIENT_SECRET: idp.clientSecret,
      ...env,
    })
    idp.setRedirectUris([`${server.url}/api/auth/callback`])
    browser = await launchBrowser()
  } catch (err) {
    // A half-started app would otherwise leave the provider (and maybe the server) running.
    await close()
    throw err
  }
  const [app, chromium] = [server, browser]
  return {
    idp,
    server: app,
    browser: chromium,
    close,
    async signIn(who, options = {}) {
      const { context, page, errors } = await newPage(chromium, options)
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) errors.push(m.text())
      })
      await page.goto(app.url)
      idp.signInAs(who)
      await page.locator('[data-testid="sign-in-oidc"]').click()
      // The menu, not the name: the name is hidden at phone width.
      await page.locator('[data-testid="account-menu"]').waitFor()
      expect(await page.locator('[data-testid="account-name"]').textContent()).toBe(PEOPLE[who]?.name)
      return {
        context,
        page,
        errors,
        post: (path, data) => context.request.post(`${app.url}${path}`, { data, headers: { origin: app.url } }),
        get: (path) => context.request.get(`${app.url}${path}`),
      }
    },
  }
}

export interface SignInSetup extends SignInApp {
  /** The fake Anthropic API, when asked for (`fakeAnthropic`); its `keys` are what the calls carried. */
  fake: FakeAnthropic
}

/**
 * Starts the app before the file's tests and closes it after (registers vitest's beforeAll and
 * afterAll); the returned object reads the started parts, so use it inside tests only. With
 * `fakeAnthropic` (its reply), a fake Anthropic API (the named test double for the paid one) is
 * started first and the app's agents call it from process workers, with no warm pool.
 */
export function setupSignInApp(options: { env?: Record<string, string>; fakeAnthropic?: string } = {}): SignInSetup {
  let app: SignInApp | undefined
  let fake: FakeAnthropic | undefined
  beforeAll(async () => {
    let env = options.env ?? {}
    if (options.fakeAnthropic !== undefined) {
      fake = await startFakeAnthropic(options.fakeAnthropic)
      env = { ANTHROPIC_BASE_URL: fake.url, TETHER_WORKER_RUNTIME: 'process', TETHER_WARM_POOL_SIZE_PROCESS: '0', ...env }
    }
    app = await startSignInApp(env)
  }, 300_000)
  afterAll(async () => {
    await app?.close()
    await fake?.close()
  })
  const started = (): SignInApp => {
    if (!app) throw new Error('the sign-in app is not started (use it inside a test)')
    return app
  }
  return {
    get idp() {
      return started().idp
    },
    get server() {
      return started().server
    },
    get browser() {
      return started().browser
    },
    get fake() {
      if (!fake) throw new Error('no fake Anthropic API: pass fakeAnthropic to setupSignInApp')
      return fake
    },
    signIn: (who, signInOptions) => started().signIn(who, signInOptions),
    close: () => started().close(),
  }
}

/** The signed-in person's account id, as the page reads it. */
export async function accountId(p: SignedInPerson): Promise<string> {
  return ((await (await p.get('/api/auth/me')).json()) as { user: { id: string } }).user.id
}

/** Types `text` into the session page's message box and sends it. */
export async function say(p: SignedInPerson, text: string): Promise<void> {
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
