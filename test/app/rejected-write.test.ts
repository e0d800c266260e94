/**
 * Bar 4: a write the server refuses rolls back in the UI with a visible error. The session is
 * terminated while this page cannot hear about it yet (its stream reads are cut, as on a flaky
 * network), so the person still sends a message and runs a command: both show at once as
 * pending, the server refuses them, and both disappear again with an error that says why.
 */
import { describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import {
  connectionState,
  createSession,
  messageTexts,
  newPage,
  terminateSession,
  until,
  setupServerAndBrowser,
  type TestServer,
} from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

describe('a write the server rejects', () => {
  it('is shown as pending, then rolled back with an error', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'About to end')
    const { page } = await newPage(browser)
    await page.goto(session.shareUrl)
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    // A message that goes through, for contrast.
    await page.fill('[data-testid="composer"]', 'This one is accepted.')
    await page.keyboard.press('Enter')
    await until(page, 'the accepted message', async () =>
      (await messageTexts(page)).some((m) => m.text === 'This one is accepted.' && m.pending === 'false'),
    )

    // Cut this page's reads (stream and session record); writes still reach the server. Going
    // offline for a moment drops the open SSE connection; the routes then refuse the reconnects.
    await page.route(`**/api/streams/sessions/${session.id}**`, (route) => route.abort('connectionreset'))
    await page.route(`**/api/sessions/${session.id}`, (route) => route.abort('connectionreset'))
    await page.context().setOffline(true)
    await until(page, 'the live stream to drop', async () => (await connectionState(page)) !== 'live')
    await page.context().setOffline(false)
    await until(page, 'reconnecting', async () => (await connectionState(page)) === 'reconnecting')
    await terminateSession(server, admin, session.id)

    // Hold the server's answers to writes for a moment so the pending state is observable.
    let releaseWrites: () => void = () => undefined
    const writesHeld = new Promise<void>((r) => (releaseWrites = r))
    await page.route('**/api/streams?sessionId=*', async (route) => {
      await writesHeld
      await route.continue()
    })

    await page.fill('[data-testid="composer"]', 'This one is refused.')
    await page.keyboard.press('Enter')
    await until(page, 'the refused message shown as pending', async () =>
      (await messageTexts(page)).some((m) => m.text === 'This one is refused.' && m.pending === 'true'),
    )
    await page.fill('[data-testid="prompt-input"]', 'echo refused-too')
    await page.keyboard.press('Enter')
    await page.locator('[data-testid="terminal-pending"]', { hasText: 'echo refused-too' }).waitFor()

    releaseWrites()

    // Rolled back: gone from the conversation and the terminal, with errors naming the action.
    await until(
      page,
      'the refused message to be rolled back',
      async () => !(await messageTexts(page)).some((m) => m.text === 'This one is refused.'),
    )
    await page.locator('[data-testid="terminal-pending"]').waitFor({ state: 'detached' })
    const errors = page.locator('[data-testid="write-error"]')
    await until(page, 'two errors', async () => (await errors.count()) === 2)
    const texts = await errors.allTextContents()
    expect(texts[0]).toContain('send message')
    expect(texts[1]).toContain('run command')
    for (const text of texts) expect(text.toLowerCase()).toMatch(/ended|terminated|closed|unknown session|not found/)
    // The accepted message is untouched (the echo agent's answer to it aside).
    expect((await messageTexts(page)).filter((m) => m.role === 'user').map((m) => m.text)).toEqual(['This one is accepted.'])

    // Dismissing an error removes it.
    await errors.first().getByRole('button', { name: 'Dismiss' }).click()
    await until(page, 'one error left', async () => (await errors.count()) === 1)

    // Once the page can read again it learns the session ended and stops offering to write.
    await page.unroute(`**/api/streams/sessions/${session.id}**`)
    await page.unroute(`**/api/sessions/${session.id}`)
    await page.locator('[data-testid="banner-ended"]').waitFor()
    expect(await page.locator('[data-testid="composer"]').isDisabled()).toBe(true)
  }, 180_000)
})
