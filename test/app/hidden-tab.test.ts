/**
 * A tab that was hidden and shown again keeps receiving the session live. The Durable Streams
 * client pauses a hidden tab's SSE read (it aborts the request) and resumes it when the tab is
 * visible; our batch-atomic SSE body once turned that abort into a clean end, the client's
 * reconnect then threw on its paused state and the page silently stopped updating.
 */
import type { Browser } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSession, newPage, setupServerAndBrowser, until, writeEvents, type TestServer } from './support'

let server: TestServer
let browser: Browser
setupServerAndBrowser(
  (s, b) => {
    server = s
    browser = b
  },
  { TETHER_WORKERS: 'off' },
)

const say = (messageId: string, delta: string) => ({
  channel: 'chunk',
  data: { messageId, role: 'assistant', author: 'agent-test', turn: 1, seq: 0, delta, done: true },
})

/** Makes the page believe it was hidden (or shown) and tells it, as switching tabs does. */
const setHidden = (page: import('playwright-core').Page, hidden: boolean) =>
  page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h })
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') })
    document.dispatchEvent(new Event('visibilitychange'))
  }, hidden)

const textOf = (page: import('playwright-core').Page, id: string) =>
  page.locator(`[data-message-id="${id}"] [data-testid="message-text"]`).textContent({ timeout: 1000 })

describe('a hidden tab', () => {
  it('gets what was written while it was hidden, and what comes after, once shown again', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const session = await createSession(server, admin, 'Hidden tab')
    await writeEvents(server, admin, session.id, say('before', 'before hiding'))
    const { context, page, errors } = await newPage(browser)
    await page.goto(`${server.url}/sessions/${session.id}?token=${admin}`)
    await until(page, 'the first message', async () => (await textOf(page, 'before')) === 'before hiding')
    await until(page, 'the live read', async () => (await page.locator('[data-testid="connection"][data-state="live"]').count()) > 0)

    await setHidden(page, true)
    await writeEvents(server, admin, session.id, say('while', 'written while hidden'))
    await setHidden(page, false)
    await until(page, 'what was written while hidden', async () => (await textOf(page, 'while')) === 'written while hidden')
    await writeEvents(server, admin, session.id, say('after', 'written after'))
    await until(page, 'what was written after', async () => (await textOf(page, 'after')) === 'written after')
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)
})
