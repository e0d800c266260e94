/**
 * Bar 1: two people in one session, each in their own browser context (own storage, own token
 * from the share link): each sees the other's presence and cursor, a message sent by one streams
 * into both (answered by the server's real echo worker, word by word), and a terminal command
 * typed by one runs in the worker's real shell and shows with its output in both.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, messageTexts, newPage, terminalText, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

async function join(url: string, name: string): Promise<{ page: Page; userId: string }> {
  const { context, page } = await newPage(browser)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity'))
      localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
  }, name)
  await page.goto(url)
  await page.waitForSelector('[data-testid="connection"][data-state="live"]')
  const self = page.locator('[data-testid="people"] li', { hasText: '(you)' })
  await self.waitFor()
  const userId = (await self.getAttribute('data-user')) ?? ''
  return { page, userId }
}

describe('two people in one session', () => {
  it('see each other, their cursors, their messages as they stream, and their terminal commands with output', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Pairing on the upload bug')

    const alice = await join(session.shareUrl, 'Alice')
    const bob = await join(session.shareUrl, 'Bob')
    // The share link was exchanged for personal tokens: two distinct users.
    expect(alice.userId).toMatch(/^u_/)
    expect(bob.userId).toMatch(/^u_/)
    expect(alice.userId).not.toBe(bob.userId)

    // Presence: each sees both people.
    for (const { page } of [alice, bob]) {
      await page.locator(`[data-testid="people"] li[data-user="${alice.userId}"]`).waitFor()
      await page.locator(`[data-testid="people"] li[data-user="${bob.userId}"]`).waitFor()
    }
    expect(await bob.page.locator(`[data-testid="people"] li[data-user="${alice.userId}"]`).textContent()).toContain('Alice')

    // Cursor: Alice moves her pointer over the session; Bob sees it, labelled with her name.
    const area = await alice.page.locator('[data-testid="session-page"]').boundingBox()
    if (!area) throw new Error('no session area')
    await alice.page.mouse.move(area.x + area.width * 0.25, area.y + area.height * 0.5)
    await alice.page.mouse.move(area.x + area.width * 0.3, area.y + area.height * 0.6, { steps: 5 })
    const aliceCursor = bob.page.locator(`[data-testid="live-cursor"][data-user="${alice.userId}"]`)
    await aliceCursor.waitFor()
    expect(await aliceCursor.textContent()).toContain('Alice')
    // Nobody sees their own cursor.
    expect(await alice.page.locator(`[data-testid="live-cursor"][data-user="${alice.userId}"]`).count()).toBe(0)

    // Bob watches the agent's answer grow, to see it stream rather than arrive whole.
    await bob.page.evaluate(() => {
      const seen = new Set<string>()
      ;(window as unknown as { __partials: Set<string> }).__partials = seen
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid="message"][data-role="assistant"][data-done="false"]')) {
          const text = el.querySelector('[data-testid="message-text"]')?.textContent
          if (text) seen.add(text)
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true })
    })

    // A message from Alice shows in both pages, and the agent's answer streams into both.
    const ask = '/slow /count 40'
    const answer = Array.from({ length: 40 }, (_, i) => String(i + 1)).join(' ')
    // Keyboard only: "/" jumps to the message box.
    await alice.page.keyboard.press('/')
    await alice.page.keyboard.type(ask)
    await alice.page.keyboard.press('Enter')
    for (const { page } of [alice, bob]) {
      await until(page, 'Alice’s message', async () =>
        (await messageTexts(page)).some((m) => m.role === 'user' && m.text === ask && m.pending === 'false'),
      )
    }
    for (const { page } of [alice, bob]) {
      await until(page, 'the whole answer', async () => (await messageTexts(page)).some((m) => m.role === 'assistant' && m.text === answer))
      const messages = await messageTexts(page)
      expect(messages.map((m) => [m.role, m.text])).toEqual([
        ['user', ask],
        ['assistant', answer],
      ])
    }
    const partials = await bob.page.evaluate(() => [...(window as unknown as { __partials: Set<string> }).__partials])
    // Seen part-way: more than one intermediate text, each a prefix of the answer.
    expect(partials.length).toBeGreaterThan(1)
    for (const partial of partials) expect(answer.startsWith(partial)).toBe(true)

    // Bob runs a command at the terminal prompt: the worker's real shell runs it, and the command
    // (labelled with who ran it) and its output show in both terminals.
    // "`" jumps to the terminal prompt.
    await bob.page.keyboard.press('`')
    await bob.page.keyboard.type('echo hello-from-$((6*7))')
    await bob.page.keyboard.press('Enter')
    for (const { page } of [alice, bob]) {
      await until(page, 'the command output in the terminal', async () => (await terminalText(page)).split('\n').includes('hello-from-42'))
      const rows = (await terminalText(page)).split('\n')
      const output = rows.indexOf('hello-from-42')
      expect(rows.slice(0, output).some((r) => r.includes('echo hello-from-$((6*7))'))).toBe(true)
      expect(rows.some((r) => r.includes('Bob ◂'))).toBe(true)
    }
  }, 180_000)
})
