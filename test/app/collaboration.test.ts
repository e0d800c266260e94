/**
 * Bar 1: two people in one session, each in their own browser context (own storage, own token
 * from the share link): each sees the other's presence and cursor, a message sent by one streams
 * into both, and a terminal command typed by one shows with its output in both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { FakeShell } from './fake-shell'
import { createSession, launchBrowser, messageTexts, newPage, startServer, streamAssistantMessage, terminalText, until, type TestServer } from './support'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

async function join(url: string, name: string): Promise<{ page: Page; userId: string }> {
  const { context, page } = await newPage(browser)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity')) localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
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
    const worker = await server.token('worker', session.id, 'agent-1')

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

    // A message from Alice shows in both pages.
    await alice.page.fill('[data-testid="composer"]', 'Can you find why the upload test is flaky?')
    await alice.page.keyboard.press('Enter')
    for (const { page } of [alice, bob]) {
      await until(page, 'Alice’s message', async () => (await messageTexts(page)).some((m) => m.role === 'user' && m.text === 'Can you find why the upload test is flaky?' && m.pending === 'false'))
    }

    // The agent's answer streams into both, token by token.
    const answer = 'Sure. I will run the test a few times and read its output.'
    await streamAssistantMessage(server, worker, session.id, 'answer-1', answer, 'agent-1', 0, 4)
    for (const { page } of [alice, bob]) {
      await until(page, 'the first words of the answer', async () => (await messageTexts(page)).some((m) => m.id === 'answer-1' && m.text === 'Sure. I will run'))
    }
    await streamAssistantMessage(server, worker, session.id, 'answer-1', answer, 'agent-1', 4)
    for (const { page } of [alice, bob]) {
      await until(page, 'the whole answer', async () => (await messageTexts(page)).some((m) => m.id === 'answer-1' && m.text === answer))
      const messages = await messageTexts(page)
      expect(messages.map((m) => m.role)).toEqual(['user', 'assistant'])
    }

    // Bob runs a command at the terminal prompt; its output shows under it in both terminals.
    const shell = new FakeShell(server, worker, session.id, 'agent-1')
    shell.start()
    try {
      await bob.page.fill('[data-testid="prompt-input"]', 'echo hello-from-bob')
      await bob.page.keyboard.press('Enter')
      for (const { page } of [alice, bob]) {
        await until(page, 'the command output in the terminal', async () => (await terminalText(page)).includes('hello-from-bob\n$'))
        const text = await terminalText(page)
        const commandRow = text.split('\n').findIndex((row) => row.startsWith('echo hello-from-bob'))
        expect(commandRow).toBeGreaterThanOrEqual(0)
        // The command's row carries who ran it; the output is on the row under it.
        expect(text.split('\n')[commandRow]).toContain('Bob')
        expect(text.split('\n')[commandRow + 1]).toBe('hello-from-bob')
      }
    } finally {
      shell.stop()
    }
  }, 180_000)
})
