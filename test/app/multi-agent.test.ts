/**
 * Bar 4 of issue #15, in the browser against the production build and the real echo worker
 * (process runtime): two people (an admin, and a collaborator through the share link) and two
 * echo agents (a, b) in one single-container session. Each person addresses an agent with `@`
 * (the completion menu, by keyboard); each agent answers, under its own name; the per-agent
 * panel's values (tokens, cost, turns, status) equal the stream's latest agent-state entries
 * (read over HTTP); the admin adds a third agent from the page, it shows in the panel and answers
 * `@c`, then removes it (asked first; its card stays, marked removed, and `@` no longer offers
 * it); the collaborator sees no add/remove controls. Screenshots in both themes; no CSP violation.
 * Also: "Stop <agent>" cancels only that agent's turn; "New session" with several agents.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, newPage, openNewSessionDialog, readStream, screenshot, setupServerAndBrowser, until, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser(
  (started, launched) => {
    server = started
    browser = launched
  },
  { TETHER_WORKER_RUNTIME: 'process', TETHER_WARM_POOL_SIZE_PROCESS: '0' },
)

/** CSP violations as the page sees them (event) and as chromium reports them (console). */
async function watchCsp(page: Page): Promise<() => Promise<string[]>> {
  const consoleViolations: string[] = []
  page.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) consoleViolations.push(msg.text())
  })
  await page.addInitScript(() => {
    const seen: string[] = []
    ;(window as unknown as { __csp: string[] }).__csp = seen
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`))
  })
  return async () => [...consoleViolations, ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []))]
}

interface Opened {
  page: Page
  errors: string[]
  csp: () => Promise<string[]>
  close: () => Promise<void>
}

async function openAsAdmin(sessionId: string, admin: string, dark = false): Promise<Opened> {
  const { context, page, errors } = await newPage(browser, { dark })
  await context.addInitScript(
    ([token]) => {
      localStorage.setItem('tether.token.admin', token!)
      localStorage.setItem('tether.identity', JSON.stringify({ userId: 'local-Ada', displayName: 'Ada' }))
    },
    [admin],
  )
  const csp = await watchCsp(page)
  await page.goto(`${server.url}/sessions/${sessionId}`)
  await page.waitForSelector('[data-testid="connection"][data-state="live"]')
  return { page, errors, csp, close: () => context.close() }
}

async function openThroughShareLink(url: string, name: string): Promise<Opened> {
  const { context, page, errors } = await newPage(browser)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity'))
      localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
  }, name)
  const csp = await watchCsp(page)
  await page.goto(url)
  await page.waitForSelector('[data-testid="connection"][data-state="live"]')
  return { page, errors, csp, close: () => context.close() }
}

/** Types `@<prefix>` in the message box, picks `agentId` from the completion menu by keyboard, then the rest. */
async function sendTo(page: Page, prefix: string, agentId: string, rest: string): Promise<string> {
  const box = page.locator('#composer-input')
  await until(page, 'the message box enabled', async () => !(await box.isDisabled()))
  await box.click()
  await page.keyboard.type(`@${prefix}`)
  const menu = page.locator('[data-testid="mention-menu"]')
  await menu.waitFor()
  const options = await menu.locator('[role="option"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-agent-id')))
  expect(options).toContain(agentId)
  // Arrow down to the agent (the first option is picked when the menu opens), Tab inserts it.
  for (let i = 0; i < options.indexOf(agentId); i++) await page.keyboard.press('ArrowDown')
  await page.keyboard.press('Tab')
  // Inserted, with the caret after it (what is typed next follows the mention).
  const inserted = `@${agentId} `
  await until(
    page,
    'the mention inserted',
    async () =>
      (await box.evaluate((el: HTMLTextAreaElement) => [el.value, el.selectionStart])).join('|') === `${inserted}|${inserted.length}`,
  )
  expect(await menu.count()).toBe(0)
  await page.keyboard.type(rest)
  await page.keyboard.press('Enter')
  const text = `@${agentId} ${rest}`
  const message = page.locator('[data-testid="message"][data-role="user"]', { hasText: text }).last()
  await message.waitFor()
  await until(page, 'the message confirmed', async () => (await message.getAttribute('data-pending')) === 'false')
  return (await message.getAttribute('data-message-id')) ?? ''
}

/** The assistant message answering with `text`, once it is done: who the page says wrote it. */
async function answer(page: Page, text: string): Promise<{ id: string; agentId: string | null; name: string }> {
  const message = page.locator('[data-testid="message"][data-role="assistant"][data-done="true"]', { hasText: text }).last()
  await message.waitFor({ timeout: 90_000 })
  const name = message.locator('[data-testid="agent-name"]')
  return {
    id: (await message.getAttribute('data-message-id')) ?? '',
    agentId: await name.getAttribute('data-agent-id'),
    name: (await name.textContent()) ?? '',
  }
}

interface CardValues {
  status: string
  tokensIn: number
  tokensOut: number
  costUsd: number
  turns: number
}

async function cardValues(page: Page): Promise<Record<string, CardValues>> {
  return page.$$eval('[data-testid="agent-card"]', (els) =>
    Object.fromEntries(
      els.map((el) => [
        el.getAttribute('data-agent-id') ?? '',
        {
          status: el.getAttribute('data-status') ?? '',
          tokensIn: Number(el.getAttribute('data-tokens-in')),
          tokensOut: Number(el.getAttribute('data-tokens-out')),
          costUsd: Number(el.getAttribute('data-cost')),
          turns: Number(el.getAttribute('data-turns')),
        },
      ]),
    ),
  )
}

/** The stream's latest `kind: 'state'` entry per agent, read over HTTP (the truth every page folds). */
async function streamValues(token: string, sessionId: string): Promise<Record<string, CardValues>> {
  const latest: Record<string, CardValues> = {}
  for (const e of await readStream(server, token, sessionId)) {
    const v = e.value
    if (e.type !== 'agent-state' || v?.kind !== 'state') continue
    latest[String(v.agentId)] = {
      status: String(v.status),
      tokensIn: Number(v.tokensIn),
      tokensOut: Number(v.tokensOut),
      costUsd: Number(v.costUsd),
      turns: Number(v.turns),
    }
  }
  return latest
}

/** Waits until every agent in `ids` is idle with `turns` and the page's cards equal the stream's entries. */
async function panelMatchesStream(
  page: Page,
  token: string,
  sessionId: string,
  turns: Record<string, number>,
): Promise<Record<string, CardValues>> {
  let last: { page: Record<string, CardValues>; stream: Record<string, CardValues> } | undefined
  await until(
    page,
    `the agent panel equal to the stream (${JSON.stringify(last)})`,
    async () => {
      const stream = await streamValues(token, sessionId)
      const shown = await cardValues(page)
      last = { page: shown, stream }
      return Object.entries(turns).every(
        ([id, n]) => stream[id]?.turns === n && stream[id]?.status === 'idle' && JSON.stringify(shown[id]) === JSON.stringify(stream[id]),
      )
    },
    90_000,
  )
  return last!.stream
}

describe('several agents in one session, two people', () => {
  it('routes @a and @b, shows who answered, per-agent panel values equal the stream, adds @c from the page', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Two agents, two people', {
      pattern: 'single-container',
      agent: undefined,
      agents: [
        { id: 'a', name: 'Ada', provider: 'echo', model: 'echo' },
        { id: 'b', name: 'Bo', provider: 'echo', model: 'echo', limits: { maxTurns: 50 } },
      ],
    })

    const ada = await openAsAdmin(session.id, admin)
    const cy = await openThroughShareLink(session.shareUrl, 'Cy')
    for (const { page } of [ada, cy]) {
      await page.locator('[data-testid="agent-card"][data-agent-id="a"]').waitFor()
      await page.locator('[data-testid="agent-card"][data-agent-id="b"]').waitFor()
    }
    // Admin sees the controls; the collaborator (not the owner) does not.
    await ada.page.locator('[data-testid="add-agent"]').waitFor()
    expect(await cy.page.locator('[data-testid="add-agent"]').count()).toBe(0)
    expect(await cy.page.locator('[data-testid="agent-card-remove"]').count()).toBe(0)
    expect(await ada.page.locator('[data-testid="agent-card-remove"]').count()).toBe(2)
    // b's own limit shows on its card.
    expect(await ada.page.locator('[data-agent-id="b"] [data-testid="agent-card-turns"]').textContent()).toContain('of 50')

    // Each person addresses an agent through the @ menu.
    await sendTo(ada.page, 'b', 'b', 'hello from Ada')
    await sendTo(cy.page, '', 'a', 'hi from Cy')

    // Each agent answers, under its own name, in both pages.
    for (const { page } of [ada, cy]) {
      const fromB = await answer(page, 'Echo: hello from Ada')
      expect(fromB).toMatchObject({ agentId: 'b', name: 'Bo' })
      expect(fromB.id.startsWith('b:')).toBe(true)
      const fromA = await answer(page, 'Echo: hi from Cy')
      expect(fromA).toMatchObject({ agentId: 'a', name: 'Ada' })
      expect(fromA.id.startsWith('a:')).toBe(true)
    }
    // Only the addressed agent answered each message: one assistant answer per message.
    expect(await ada.page.locator('[data-testid="message"][data-role="assistant"]', { hasText: 'Echo: hello from Ada' }).count()).toBe(1)

    // The per-agent panel equals the stream's latest agent-state entries, in both pages.
    const stream = await panelMatchesStream(ada.page, admin, session.id, { a: 1, b: 1 })
    await panelMatchesStream(cy.page, admin, session.id, { a: 1, b: 1 })
    expect(stream.a!.tokensOut).toBeGreaterThan(0)
    expect(stream.b!.costUsd).toBeGreaterThan(0)
    // The totals on top are the sums.
    const totalTurns = await ada.page.locator('[data-testid="stat-turns"] .stat-value').textContent()
    expect(Number(totalTurns)).toBe(stream.a!.turns + stream.b!.turns)

    // A third agent, added from the page by the admin.
    await ada.page.locator('[data-testid="add-agent"]').click()
    const form = ada.page.locator('[data-testid="add-agent-form"]')
    await form.waitFor()
    // A bad id is refused with the reason, inline.
    await form.locator('[data-testid="agent-field-id"]').fill('B')
    await form.locator('[data-testid="add-agent-submit"]').click()
    expect(await ada.page.locator('[data-testid="add-agent-error"]').textContent()).toMatch(/a-z/)
    // A taken id: the server's reason.
    await form.locator('[data-testid="agent-field-id"]').fill('a')
    await form.locator('[data-testid="add-agent-submit"]').click()
    await until(ada.page, 'the server refusal', async () =>
      /\S/.test((await ada.page.locator('[data-testid="add-agent-error"]').textContent()) ?? ''),
    )
    expect(await form.count()).toBe(1)
    await form.locator('[data-testid="agent-field-id"]').fill('c')
    await form.locator('[data-testid="agent-field-name"]').fill('Cato')
    await form.locator('[data-testid="add-agent-submit"]').click()
    await form.waitFor({ state: 'detached' })
    for (const { page } of [ada, cy]) await page.locator('[data-testid="agent-card"][data-agent-id="c"]').waitFor()
    expect(await cy.page.locator('[data-agent-id="c"] [data-testid="agent-card-name"]').textContent()).toBe('Cato')

    await sendTo(cy.page, 'c', 'c', 'are you there')
    for (const { page } of [ada, cy]) expect(await answer(page, 'Echo: are you there')).toMatchObject({ agentId: 'c', name: 'Cato' })
    await panelMatchesStream(ada.page, admin, session.id, { a: 1, b: 1, c: 1 })

    // Each user message shows one turn chip per answering agent, named.
    const chips = await ada.page
      .locator('[data-testid="message"][data-role="user"]', { hasText: 'are you there' })
      .locator('[data-testid="turn-status"]')
      .evaluateAll((els) => els.map((el) => [el.getAttribute('data-agent-id'), el.getAttribute('data-turn-status')]))
    expect(chips).toEqual([['c', 'done']])

    await screenshot(ada.page, 'multi-agent-light')
    const dark = await openAsAdmin(session.id, admin, true)
    await dark.page.locator('[data-testid="agent-card"][data-agent-id="c"]').waitFor()
    await answer(dark.page, 'Echo: are you there')
    // Let the theme's colour transitions finish before the picture.
    await dark.page.waitForTimeout(400)
    await screenshot(dark.page, 'multi-agent-dark')

    // Remove asks first, then c leaves the roster: its card stays (its usage still counts) marked removed, and @ no longer offers it.
    await ada.page.locator('[data-agent-id="c"] [data-testid="agent-card-remove"]').click()
    await ada.page.locator('[data-agent-id="c"] [data-testid="agent-card-remove-confirm"]').click()
    for (const { page } of [ada, cy]) await page.locator('[data-testid="agent-card"][data-agent-id="c"].agent-card-removed').waitFor()
    await cy.page.locator('#composer-input').fill('')
    await cy.page.locator('#composer-input').click()
    await cy.page.keyboard.type('@')
    const offered = await cy.page
      .locator('[data-testid="mention-menu"] [role="option"]')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-agent-id')))
    expect(offered).toEqual(['a', 'b'])

    for (const opened of [ada, cy, dark]) {
      expect(await opened.csp()).toEqual([])
      expect(opened.errors).toEqual([])
      await opened.close()
    }
  }, 300_000)
  it('"Stop <agent>" cancels only that agent\'s turn; the other agent answering the same message finishes', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Stop one agent', {
      pattern: 'single-container',
      agent: undefined,
      agents: [
        { id: 'a', name: 'Ada', provider: 'echo', model: 'echo' },
        { id: 'b', name: 'Bo', provider: 'echo', model: 'echo' },
      ],
    })
    const ada = await openAsAdmin(session.id, admin)
    const { page } = ada
    await page.locator('[data-testid="agent-card"][data-agent-id="b"]').waitFor()
    // Both agents answer one message that names both, slowly.
    const box = page.locator('#composer-input')
    await until(page, 'the message box enabled', async () => !(await box.isDisabled()))
    await box.fill('@a @b /slow /count 150')
    await box.press('Enter')
    const message = page.locator('[data-testid="message"][data-role="user"]', { hasText: '/count 150' }).last()
    await message.waitFor()
    const messageId = (await message.getAttribute('data-message-id')) ?? ''
    const stopA = page.locator('[data-agent-id="a"] [data-testid="agent-card-stop"]')
    await stopA.waitFor()
    expect(await stopA.textContent()).toContain('Stop Ada')
    await stopA.click()
    const chip = (agentId: string) => message.locator(`[data-testid="turn-status"][data-agent-id="${agentId}"]`)
    await until(page, "a's turn cancelled", async () => (await chip('a').getAttribute('data-turn-status')) === 'cancelled', 90_000)
    await until(page, "b's turn done", async () => (await chip('b').getAttribute('data-turn-status')) === 'done', 90_000)
    expect(await chip('a').textContent()).toContain('Ada: stopped by')
    // The stream: one cancel control, naming agent a and the message.
    const controls = (await readStream(server, admin, session.id))
      .filter((e) => e.type === 'agent-state' && e.value?.kind === 'control' && e.value.action === 'cancel')
      .map((e) => ({ agentId: e.value?.agentId, messageId: e.value?.messageId }))
    expect(controls).toEqual([{ agentId: 'a', messageId }])
    // b's answer is whole; a's stops short.
    const fromB = await answer(page, '150')
    expect(fromB.agentId).toBe('b')
    expect(await ada.csp()).toEqual([])
    await ada.close()
  }, 300_000)

  it('"New session" with several agents creates them, the roster in the panel and @ menu', async () => {
    const admin = await server.token('admin')
    const { context, page, errors } = await newPage(browser)
    await context.addInitScript((token) => localStorage.setItem('tether.token.admin', token), admin)
    await page.goto(server.url)
    const dialog = await openNewSessionDialog(page)
    await dialog.locator('#ns-title').fill('Made with agents')
    await dialog.getByTestId('ns-several-agents').click()
    expect(await dialog.locator('#ns-pattern').inputValue()).toBe('single-container')
    await dialog.locator('#ns-agent-0-name').fill('Planner')
    await dialog.locator('#ns-agent-1-id').fill('Bad Id')
    await dialog.getByTestId('create-session').click()
    expect(await dialog.locator('.form-error').textContent()).toContain('Bad Id')
    await dialog.locator('#ns-agent-1-id').fill('coder')
    await dialog.locator('#ns-agent-1-name').fill('Coder')
    await dialog.getByTestId('create-session').click()
    await page.waitForURL(/\/sessions\/s_/)
    await page.locator('[data-testid="agent-card"][data-agent-id="coder"]').waitFor()
    const cards = await page
      .locator('[data-testid="agent-card"]')
      .evaluateAll((els) =>
        els.map((el) => [el.getAttribute('data-agent-id'), el.querySelector('[data-testid="agent-card-name"]')?.textContent]),
      )
    expect(cards).toEqual([
      ['a', 'Planner'],
      ['coder', 'Coder'],
    ])
    const box = page.locator('#composer-input')
    await until(page, 'the message box enabled', async () => !(await box.isDisabled()))
    await box.click()
    await page.keyboard.type('@co')
    const options = await page
      .locator('[data-testid="mention-menu"] [role="option"]')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-agent-id')))
    expect(options).toEqual(['coder'])
    expect(await box.getAttribute('aria-activedescendant')).toBe('mention-option-coder')
    // Escape closes the menu and keeps the text.
    await page.keyboard.press('Escape')
    expect(await page.locator('[data-testid="mention-menu"]').count()).toBe(0)
    expect(await box.inputValue()).toBe('@co')
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)
})
