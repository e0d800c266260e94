/**
 * The printed admin link in a real browser: it signs the browser in once, the address bar keeps
 * no code or token afterwards (history, screenshots, Referer), a second open of the same link says
 * why it fails, and pages render under the CSP without a single violation.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, newPage, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

// LOG_LEVEL=info: the admin link is an info line of the start-up log.
setupServerAndBrowser(
  (started, launched) => {
    server = started
    browser = launched
  },
  { LOG_LEVEL: 'info' },
)

function printedLink(): string {
  const match = /Tether admin link[^\n]*?(http:\/\/[^\s"]+\/\?code=[\w-]+)/.exec(server.output())
  if (!match) throw new Error(`no admin link in the server output:\n${server.output()}`)
  return match[1]!
}

/** CSP violations as the page sees them (event) and as chromium reports them (console). */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  const consoleViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) consoleViolations.push(msg.text())
  })
  await page.addInitScript(() => {
    const seen: string[] = []
    ;(window as unknown as { __csp: string[] }).__csp = seen
    document.addEventListener('securitypolicyviolation', (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`),
    )
  })
  return async () => [...consoleViolations, ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []))]
}

const credentialsIn = (url: string) => /[?&](code|token)=/.test(url)

describe('the printed admin link', () => {
  it('signs the browser in once, leaves no code in the address bar, and the page runs under the CSP', async () => {
    const link = printedLink()
    const { page, context, errors } = await newPage(browser)
    const violations = await watchCsp(page)
    const response = await page.goto(link)
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'")
    // Signed in: the home page's list (empty, not "Sign in to see sessions") and its create button.
    await page.getByRole('heading', { name: 'No sessions yet' }).waitFor()
    await page.getByTestId('new-session').waitFor()
    await until(page, 'the code to leave the address bar', () => !credentialsIn(page.url()))
    expect(page.url()).toBe(`${server.url}/`)

    // A reload stays signed in (the token is remembered, not in the address).
    await page.reload()
    await page.getByRole('heading', { name: 'No sessions yet' }).waitFor()
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])

    // The same link again (another browser, or this one): refused, with the way to a new one.
    const again = await newPage(browser)
    await again.page.goto(link)
    await again.page.getByRole('heading', { name: 'This admin link did not work' }).waitFor()
    expect(await again.page.getByRole('alert').textContent()).toContain('npm run tether -- link')
    expect(credentialsIn(again.page.url())).toBe(false)
    await again.context.close()
    await context.close()
  })

  it('a share link joins and then drops ?token= from the address bar; reload and Share still work', async () => {
    const admin = await server.token('admin')
    const { shareUrl } = await createSession(server, admin, 'Scrubbed links')
    const { page, context, errors } = await newPage(browser)
    const violations = await watchCsp(page)
    await page.goto(shareUrl)
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor()
    await until(page, 'the token to leave the address bar', () => !credentialsIn(page.url()))
    expect(page.url()).toBe(shareUrl.split('?')[0])

    await page.reload()
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor()
    // Someone who came in through a share link can still pass it on.
    await page.getByTestId('share').click()
    expect(await page.getByTestId('share-url').inputValue()).toBe(shareUrl)
    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })

  it('an admin token in a home link is remembered and dropped from the address bar', async () => {
    const admin = await server.token('admin')
    const { page, context } = await newPage(browser)
    await page.goto(`${server.url}/?token=${encodeURIComponent(admin)}`)
    // Signed in: the sessions made by the tests above are listed.
    await page.locator('[data-testid="session-row"]').first().waitFor()
    await until(page, 'the token to leave the address bar', () => !credentialsIn(page.url()))
    await page.reload()
    await page.locator('[data-testid="session-row"]').first().waitFor()
    await context.close()
  })
})
