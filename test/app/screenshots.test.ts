/**
 * Bar 5: screenshots of the home page, a session with a conversation, tool calls and the terminal
 * (light, dark, phone) and the full terminal view, saved to artifacts/screenshots/ (a CI
 * artifact). Each is taken after the state it shows is on the page, so a screenshot that renders
 * an empty or broken page fails the test instead.
 */
import { existsSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  createSession,
  messageTexts,
  newPage,
  screenshot,
  terminalText,
  terminateSession,
  until,
  setupServerAndBrowser,
  writeEvents,
  type TestServer,
} from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

function expectImage(path: string) {
  expect(existsSync(path)).toBe(true)
  expect(statSync(path).size).toBeGreaterThan(10_000)
}

/** Waits for CSS transitions (theme switch, hover) to finish, so the picture is not mid-fade. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(() =>
    Promise.all(
      document
        .getAnimations()
        .filter((a) => a instanceof CSSTransition)
        .map((a) => a.finished),
    ),
  )
}

async function openAs(url: string, name: string, options: { width?: number; height?: number; dark?: boolean } = {}): Promise<Page> {
  const { context, page } = await newPage(browser, options)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity'))
      localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
  }, name)
  await page.goto(url)
  return page
}

describe('screenshots', () => {
  it('of the home page, a working session (light, dark, phone) and the terminal view', async () => {
    const admin = await server.token('admin')
    // A few sessions so the home page has something to list.
    const ended = await createSession(server, admin, 'Nightly dependency bump', { pattern: 'ephemeral' })
    await terminateSession(server, admin, ended.id)
    await createSession(server, admin, 'Triage flaky e2e suite', { pattern: 'hybrid', limits: { maxBudgetUsd: 5, maxTurns: 40 } })
    const session = await createSession(server, admin, 'Fix the upload retry bug', {
      limits: { maxBudgetUsd: 2, maxTurns: 20, maxLifetimeMs: 4 * 3_600_000 },
    })

    const maya = await openAs(session.shareUrl, 'Maya Lin')
    await maya.waitForSelector('[data-testid="connection"][data-state="live"]')
    const sam = await openAs(session.shareUrl, 'Sam Ortiz')
    await sam.waitForSelector('[data-testid="connection"][data-state="live"]')

    // A conversation with tool calls, answered by the echo worker.
    for (const text of ['/run ls -la', 'Thanks! Can you summarise what you found?']) {
      await maya.fill('[data-testid="composer"]', text)
      await maya.keyboard.press('Enter')
      await until(maya, `an answer to “${text}”`, async () => {
        const messages = await messageTexts(maya)
        const at = messages.findIndex((m) => m.text === text)
        return at >= 0 && messages.slice(at + 1).some((m) => m.role === 'assistant' && m.text.length > 0)
      })
    }
    await maya.locator('[data-testid="tool-call"][data-status="succeeded"]').first().waitFor()
    expect(await maya.locator('[data-testid="tool-call"]').count()).toBeGreaterThan(0)
    // A tool call still in flight, as the worker would publish it.
    const worker = await server.token('worker', session.id, 'agent')
    await writeEvents(server, worker, session.id, {
      channel: 'tool-call',
      data: {
        id: 'demo-read',
        messageId: 'demo',
        agentId: 'agent',
        name: 'read_file',
        input: { path: 'src/upload/retry.ts' },
        status: 'running',
        startedAt: Date.now(),
      },
    })
    await maya.locator('[data-testid="tool-call"][data-status="running"]').waitFor()

    // Terminal work from the phone-less colleague, with colours.
    for (const command of ['ls --color=always /usr', 'printf "\\033[1;32m✓ 41 passed\\033[0m  \\033[1;31m✗ 1 failed\\033[0m\\n"']) {
      await sam.fill('[data-testid="prompt-input"]', command)
      await sam.keyboard.press('Enter')
    }
    await until(maya, 'the coloured test summary', async () => (await terminalText(maya)).includes('✓ 41 passed'))

    // Sam's pointer over Maya's view.
    await maya.locator('[data-testid="tool-call"][data-status="succeeded"] summary').first().click()
    const area = await sam.locator('[data-testid="session-page"]').boundingBox()
    if (!area) throw new Error('no session area')
    await sam.mouse.move(area.x + area.width * 0.42, area.y + area.height * 0.62, { steps: 4 })
    await maya.locator('[data-testid="live-cursor"]').first().waitFor()
    await maya.mouse.move(5, 300)
    await maya.locator('[data-testid="conversation"]').evaluate((el) => (el.scrollTop = el.scrollHeight))
    await settle(maya)
    expectImage(await screenshot(maya, 'session-light'))

    // The same page in the dark theme, chosen with the header's toggle.
    await maya.getByRole('button', { name: 'Switch to dark theme' }).click()
    await until(maya, 'the dark theme', async () => (await maya.evaluate(() => document.documentElement.dataset.theme)) === 'dark')
    await maya.mouse.move(5, 300)
    await settle(maya)
    expectImage(await screenshot(maya, 'session-dark'))

    // On a phone: the panes become tabs.
    await maya.setViewportSize({ width: 390, height: 844 })
    await maya.getByRole('tab', { name: 'Conversation' }).waitFor()
    expectImage(await screenshot(maya, 'session-phone'))
    await maya.getByRole('tab', { name: 'Terminal' }).click()
    await maya.locator('[data-testid="terminal"]').waitFor()
    expectImage(await screenshot(maya, 'session-phone-terminal'))

    // The full terminal view, with everyone's commands listed.
    await maya.setViewportSize({ width: 1366, height: 860 })
    await maya.getByRole('button', { name: 'Switch to light theme' }).click()
    await maya.goto(`${server.url}/sessions/${session.id}/terminal`)
    await maya.waitForSelector('[data-testid="connection"][data-state="live"]')
    await until(maya, 'the terminal drawn', async () => (await terminalText(maya)).includes('✓ 41 passed'))
    await until(maya, 'two commands listed', async () => (await maya.locator('[data-testid="command-block"]').count()) === 2)
    expectImage(await screenshot(maya, 'terminal-view'))

    // Home, as the admin: the live list shows who is in each session and what its agent does.
    const home = await openAs(`${server.url}/?token=${encodeURIComponent(admin)}`, 'Admin')
    await until(home, 'three sessions listed', async () => (await home.locator('[data-testid="session-row"]').count()) === 3)
    const row = home.locator(`[data-testid="session-row"][data-session-id="${session.id}"]`)
    await until(
      home,
      'Maya and Sam shown in their session',
      async () =>
        (await row.locator('.avatar[title^="Maya Lin"]').count()) === 1 && (await row.locator('.avatar[title^="Sam Ortiz"]').count()) === 1,
    )
    await row.locator('[data-testid="agent-state"]').waitFor()
    expectImage(await screenshot(home, 'home-light'))
  }, 240_000)
})
