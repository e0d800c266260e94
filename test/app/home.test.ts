/**
 * The home page: sign-in hint without a token, the empty state, "new session" (title, pattern,
 * model, limits) opening the new session, and the status filter on the live list.
 */
import { describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { createSession, newPage, openNewSessionDialog, terminateSession, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

describe('home page', () => {
  it('asks for a token when it has none', async () => {
    const { page, context } = await newPage(browser)
    await page.goto(server.url)
    await page.getByRole('heading', { name: 'Sign in to see sessions' }).waitFor()
    await context.close()
  })

  it('starts empty, creates a session with its settings, and filters the live list by status', async () => {
    const admin = await server.token('admin')
    const { page, errors } = await newPage(browser)
    await page.goto(`${server.url}/?token=${encodeURIComponent(admin)}`)
    await page.getByRole('heading', { name: 'No sessions yet' }).waitFor()

    await openNewSessionDialog(page)
    const dialog = page.getByRole('dialog', { name: 'New session' })
    await dialog.getByLabel('Title').fill('Write the release notes')
    await dialog.getByLabel('Pattern').selectOption('long-running')
    await dialog.getByLabel('Max turns').fill('12')
    await dialog.getByLabel('Budget (USD)').fill('1.5')
    await dialog.getByTestId('create-session').click()

    // The new session opens, live, with what was asked for.
    await page.waitForURL(/\/sessions\/s_/)
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor()
    expect(await page.getByTestId('session-title').textContent()).toBe('Write the release notes')
    await until(page, 'the limits in the agent panel', async () =>
      ((await page.getByTestId('stat-turns').textContent()) ?? '').includes('of 12 left'),
    )
    expect(await page.getByTestId('stat-cost').textContent()).toContain('of $1.50 left')
    const id = new URL(page.url()).pathname.split('/')[2]

    // Its share link (kept by the browser that created it) lets someone else join.
    await page.getByTestId('share').click()
    const shareUrl = await page.getByTestId('share-url').inputValue()
    expect(shareUrl).toContain(`/sessions/${id}?token=`)
    await page.keyboard.press('Escape')
    const guest = await newPage(browser)
    await guest.page.goto(shareUrl)
    await guest.page.locator('[data-testid="connection"][data-state="live"]').waitFor()
    await until(page, 'the guest to show up', async () => (await page.locator('[data-testid="people"] li').count()) === 2)
    await guest.context.close()

    // Back home (the token is remembered): the list updates by itself as sessions change.
    await page.goto(server.url)
    await until(
      page,
      'the new session in the list',
      async () => (await page.locator(`[data-testid="session-row"][data-session-id="${id}"]`).count()) === 1,
    )
    const other = await createSession(server, admin, 'Ended one')
    await terminateSession(server, admin, other.id)
    await until(page, 'the other session to appear', async () => (await page.getByTestId('session-row').count()) === 2)

    await page.getByTestId('filter-status').selectOption('terminated')
    await until(page, 'only the terminated session', async () => {
      const rows = page.getByTestId('session-row')
      return (await rows.count()) === 1 && (await rows.first().getAttribute('data-session-id')) === other.id
    })
    expect(new URL(page.url()).searchParams.get('status')).toBe('terminated')
    expect(errors).toEqual([])
  }, 120_000)
})
