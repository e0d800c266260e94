/**
 * Issue #10 "seen in a two-browser run": one hybrid session open in four browser contexts (own
 * storage each): admin A, admin B (its own admin token, no remembered share link), a viewer (view
 * link) and a collaborator (share link). B's Share dialog gets a working link from the server;
 * the viewer's Share is disabled with the reason and the viewer is listed on A's page as watching;
 * the collaborator's cursor leaves A's page when the pointer leaves the shared area; the agent
 * panel says a hybrid session sleeps and wakes instead of "ends if idle".
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { decodeToken } from '../../src/lib/sessions/client/auth'
import { createSession, newPage, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

async function open(url: string, name: string): Promise<{ page: Page; userId: string; errors: string[] }> {
  const { context, page, errors } = await newPage(browser)
  await context.addInitScript((displayName) => {
    if (!localStorage.getItem('tether.identity'))
      localStorage.setItem('tether.identity', JSON.stringify({ userId: `local-${displayName}`, displayName }))
  }, name)
  await page.goto(url)
  await page.waitForSelector('[data-testid="connection"][data-state="live"]')
  const self = page.locator('[data-testid="people"] li', { hasText: '(you)' })
  await self.waitFor()
  return { page, userId: (await self.getAttribute('data-user')) ?? '', errors }
}

describe('one session in several browsers', () => {
  it('shares from any admin, shows viewers as watching, drops a cursor that left, and words the hybrid limits truly', async () => {
    const session = await createSession(server, await server.token('admin', undefined, 'admin-a'), 'Watched session', {
      pattern: 'hybrid',
    })
    const pageUrl = `${server.url}/sessions/${session.id}`
    const a = await open(`${pageUrl}?token=${encodeURIComponent(await server.token('admin', undefined, 'admin-a'))}`, 'Ada')

    // Admin B never saw the session's share token: the dialog asks the server for a fresh one.
    const b = await open(`${pageUrl}?token=${encodeURIComponent(await server.token('admin', undefined, 'admin-b'))}`, 'Bea')
    await b.page.getByTestId('share').click()
    const shareUrl = await b.page.getByTestId('share-url').inputValue()
    const shareToken = new URL(shareUrl).searchParams.get('token') ?? ''
    expect(decodeToken(shareToken)).toMatchObject({ role: 'collaborator', sid: session.id })
    expect(decodeToken(shareToken)?.sub).toBeUndefined()
    await b.page.keyboard.press('Escape')

    // The link works: a collaborator comes in through it.
    const c = await open(shareUrl, 'Cy')
    expect(c.userId).toMatch(/^u_/)

    // A viewer: Share is disabled and says why; A lists the viewer as watching.
    const v = await open(`${pageUrl}?token=${encodeURIComponent(await server.token('viewer', session.id))}`, 'Vi')
    const share = v.page.getByTestId('share')
    expect(await share.isDisabled()).toBe(true)
    expect(await share.getAttribute('title')).toMatch(/view link/)
    // Nothing else on the viewer's page invites what it cannot do.
    expect(await v.page.getByTestId('stop').getAttribute('title')).toMatch(/^Read-only/)
    expect(await v.page.getByTestId('conversation').textContent()).not.toContain('Say what you want the agent to do')
    const watching = a.page.locator(`[data-testid="people"] li[data-user="${v.userId}"]`)
    await watching.waitFor()
    expect(await watching.getAttribute('data-role')).toBe('viewer')
    expect(await watching.getByTestId('presence-label').textContent()).toMatch(/^watching/)
    expect(await watching.textContent()).toContain('Vi')

    // The collaborator points at the session, A sees the cursor; the pointer moves up to the
    // header (outside the shared area) and the cursor goes away on A's page.
    const area = await c.page.locator('[data-testid="session-page"]').boundingBox()
    if (!area) throw new Error('no session area')
    await c.page.mouse.move(area.x + area.width * 0.3, area.y + area.height * 0.5)
    await c.page.mouse.move(area.x + area.width * 0.35, area.y + area.height * 0.55, { steps: 5 })
    const cursor = a.page.locator(`[data-testid="live-cursor"][data-user="${c.userId}"]`)
    await cursor.waitFor()
    await c.page.mouse.move(area.x + area.width * 0.35, Math.max(1, area.y - 10), { steps: 5 })
    await cursor.waitFor({ state: 'detached' })
    // Still here, just not pointing.
    expect(await a.page.locator(`[data-testid="people"] li[data-user="${c.userId}"]`).count()).toBe(1)

    // Hybrid sessions sleep when idle and wake on the next message; they do not end.
    await until(a.page, 'the limits line', async () => ((await a.page.getByTestId('stat-time').textContent()) ?? '').includes('sleeps after'))
    const limits = (await a.page.getByTestId('stat-time').textContent()) ?? ''
    expect(limits).toContain('wakes on the next message')
    expect(limits).not.toContain('ends if idle')

    for (const p of [a, b, c, v]) expect(p.errors).toEqual([])
  }, 180_000)

  it('says a hybrid session past its idle limit is asleep, not ended', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Sleepy', { pattern: 'hybrid', limits: { maxIdleTimeMs: 1000 } })
    const a = await open(`${server.url}/sessions/${session.id}?token=${encodeURIComponent(admin)}`, 'Ada')
    // The monitor (every 5 s) suspends it; the page re-reads the record.
    await until(a.page, 'the session to fall asleep', async () =>
      ((await a.page.getByTestId('stat-time').textContent()) ?? '').includes('asleep: the next message wakes it'),
    )
    expect(await a.page.getByTestId('agent-step').textContent()).toBe('Asleep: the next message wakes the agent.')
    expect(await a.page.getByTestId('banner-ended').count()).toBe(0)
  }, 120_000)
})
