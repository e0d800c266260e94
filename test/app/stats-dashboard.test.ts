/**
 * Bar 3: the admin stats dashboard (/admin/stats) in a real browser on the production build. Data
 * made through the real APIs (sessions by two admins, model calls through the gateway with the
 * echo test double, a worker's agent-state with a restart, a terminated session); the figures the
 * page shows equal `GET /api/sessions/stats/summary` for the same range; it refreshes by itself;
 * screenshots in both themes and on a phone; no CSP violation; anyone but an admin sees "Admins
 * only" and no figures.
 */
import { existsSync, statSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { StatsSummary } from '../../src/lib/ops/stats-summary-types'
import { createSession, newPage, screenshot, setupServerAndBrowser, terminateSession, until, writeEvents, type TestServer } from './support'

let server: TestServer
let browser: Browser

// No workers: the agent-state below is the only one, and nothing changes the figures meanwhile.
// Echo priced like a paid model, so the costs shown are not all fractions of a cent.
setupServerAndBrowser(
  (started, launched) => {
    server = started
    browser = launched
  },
  { TETHER_WORKERS: 'off', TETHER_MODEL_PRICES: JSON.stringify({ 'echo:': { inputPerMTokUsd: 3000, outputPerMTokUsd: 15000 } }) },
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
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`))
  })
  return async () => [...consoleViolations, ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []))]
}

async function modelCall(sessionId: string, text: string): Promise<void> {
  const worker = await server.token('worker', sessionId, 'agent')
  const res = await fetch(`${server.url}/api/sessions/${sessionId}/model`, {
    method: 'POST',
    headers: { authorization: `Bearer ${worker}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'echo', system: '', messages: [{ role: 'user', content: [{ type: 'text', text }] }], tools: [] }),
  })
  expect(res.status, await res.clone().text()).toBe(200)
  await res.text()
}

async function api(query: string, token: string): Promise<StatsSummary> {
  const res = await fetch(`${server.url}/api/sessions/stats/summary${query}`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  return (await res.json()) as StatsSummary
}

/** Everything with a data-value on the page, by test id, and the range its figures are for. */
async function shown(page: Page): Promise<{ from: string; to: string; bucket: string; values: Record<string, number>; top: string[] }> {
  return page.evaluate(() => {
    const root = document.querySelector('[data-testid="stats"]') as HTMLElement
    const values: Record<string, number> = {}
    for (const el of root.querySelectorAll<HTMLElement>('[data-testid][data-value]')) values[el.dataset.testid as string] = Number(el.dataset.value)
    const top = [...root.querySelectorAll<HTMLElement>('[data-testid="top-session"]')].map((el) => el.dataset.id as string)
    return { from: root.dataset.from as string, to: root.dataset.to as string, bucket: root.dataset.bucket as string, values, top }
  })
}

function expectImage(path: string) {
  expect(existsSync(path)).toBe(true)
  expect(statSync(path).size).toBeGreaterThan(10_000)
}

describe('stats dashboard', () => {
  it('shows the API’s figures for its range, live, in both themes and on a phone, under the CSP', async () => {
    const maya = await server.token('admin', undefined, 'maya')
    const omar = await server.token('admin', undefined, 'omar')
    const a = await createSession(server, maya, 'Release notes draft')
    const b = await createSession(server, omar, 'Flaky test hunt', { pattern: 'hybrid' })
    const c = await createSession(server, maya, 'Quick question', { pattern: 'ephemeral', agent: {} })
    await modelCall(a.id, 'summarise the changes since the last release in five bullet points')
    await modelCall(a.id, 'now shorter')
    await modelCall(b.id, 'why does the reconnect test fail one run in ten?')
    const worker = await server.token('worker', b.id, 'agent')
    const state = { agentId: 'agent', status: 'idle', tokensIn: 0, tokensOut: 0, costUsd: 0, turns: 0, restarts: 1, lastHeartbeat: Date.now() }
    await writeEvents(server, worker, b.id, { channel: 'agent-state', data: state })
    await terminateSession(server, maya, c.id)

    const { page, context, errors } = await newPage(browser)
    const violations = await watchCsp(page)
    await page.goto(`${server.url}/admin/stats?range=24h&token=${encodeURIComponent(maya)}`)
    await page.getByTestId('stats').waitFor()
    await until(page, 'three charts drawn', async () => (await page.locator('.stats-chart-canvas canvas').count()) >= 3)

    const seen = await shown(page)
    expect(seen.bucket).toBe('hour')
    const s = await api(`?from=${seen.from}&to=${seen.to}&bucket=${seen.bucket}`, maya)
    // Sanity: the data above is what the API counts.
    expect([s.sessions.created, s.usage.calls, s.errors.workerRestarts, s.sessions.ended]).toEqual([3, 3, 1, 1])
    expect(seen.values).toMatchObject({
      'stat-sessions-created': s.sessions.created,
      'stat-sessions-active': s.sessions.now.active,
      'stat-workers-active': s.workers.active,
      'stat-tokens': s.usage.tokensIn + s.usage.tokensOut,
      'stat-cost': s.usage.costUsd,
      'stat-failure-rate': s.errors.sessionFailureRate,
      'stat-model-error-rate': s.errors.modelErrorRate,
      'stat-worker-restarts': s.errors.workerRestarts,
    })
    for (const [k, n] of Object.entries(s.sessions.byStatus)) expect(seen.values[`by-status-${k}`], k).toBe(n)
    for (const [k, n] of Object.entries(s.sessions.byPattern)) expect(seen.values[`by-pattern-${k}`], k).toBe(n)
    expect(seen.top).toEqual(s.topSessions.map((t) => t.id))
    expect(seen.top).toHaveLength(2)
    // Per model and per user: the same rows, in the same order.
    const rows = (id: string) => page.getByTestId(id).locator('tbody tr').allTextContents()
    expect(await rows('by-user')).toHaveLength(s.usage.byUser.length)
    expect((await rows('by-user'))[0]).toContain(s.usage.byUser[0]?.key as string)
    expect((await rows('by-model'))[0]).toContain('echo')
    // The top session links to its page.
    expect(await page.getByTestId('top-session').first().locator('a').getAttribute('href')).toBe(`/sessions/${s.topSessions[0]?.id}`)
    expectImage(await screenshot(page, 'stats-light'))

    // Live: a session created now shows up without a reload.
    await createSession(server, omar, 'Created while watching', { agent: {} })
    await until(page, 'the new session counted', async () => (await shown(page)).values['stat-sessions-created'] === 4)

    await page.getByRole('button', { name: 'Switch to dark theme' }).click()
    await until(page, 'the dark theme', async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark')
    // Charts are drawn again in the dark theme's colours.
    await until(page, 'charts redrawn', async () => (await page.locator('.stats-chart-canvas canvas').count()) >= 3)
    expectImage(await screenshot(page, 'stats-dark'))

    await page.setViewportSize({ width: 390, height: 844 })
    await until(page, 'nothing wider than the phone', async () => (await page.evaluate(() => document.documentElement.scrollWidth)) <= 390)
    await page.getByTestId('stat-cost').waitFor()
    expectImage(await screenshot(page, 'stats-phone'))

    // The range picker asks for another range (30 days, by day).
    await page.setViewportSize({ width: 1366, height: 860 })
    await page.getByTestId('stats-range-picker').selectOption('30d')
    await until(page, 'day buckets', async () => (await shown(page)).bucket === 'day')
    expect(new URL(page.url()).searchParams.get('range')).toBe('30d')

    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  })

  it('links from the header for admins only, and says "Admins only" to anyone else', async () => {
    const admin = await server.token('admin', undefined, 'maya')
    const { id } = await createSession(server, admin, 'Shared')
    const home = await newPage(browser)
    await home.page.goto(`${server.url}/?token=${encodeURIComponent(admin)}`)
    await home.page.getByTestId('stats-link').click()
    await home.page.getByTestId('stats').waitFor()
    expect(new URL(home.page.url()).pathname).toBe('/admin/stats')
    await home.context.close()

    for (const role of ['collaborator', 'viewer'] as const) {
      const token = await server.token(role, id, `u-${role}`)
      const { page, context, errors } = await newPage(browser)
      const violations = await watchCsp(page)
      const asked: string[] = []
      page.on('request', (r) => {
        if (r.url().includes('/stats/summary')) asked.push(r.url())
      })
      await page.goto(`${server.url}/admin/stats?token=${encodeURIComponent(token)}`)
      await page.getByRole('heading', { name: 'Admins only' }).waitFor()
      expect(await page.getByTestId('stats').count()).toBe(0)
      expect(await page.getByTestId('stats-link').count()).toBe(0)
      expect(asked).toEqual([])
      expect(await violations()).toEqual([])
      expect(errors).toEqual([])
      await context.close()
    }
  })
})
