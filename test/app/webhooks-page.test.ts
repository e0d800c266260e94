/**
 * The admin page for lifecycle webhooks (/admin/webhooks) in a real browser on the production
 * build, against a real loopback receiver: an admin adds an endpoint, a session created through
 * the API shows as delivered (and the receiver got that event id), a receiver answering 500 shows
 * the failed attempt, Replay after the receiver is fixed delivers, a bad URL shows the API's
 * reason, delete asks first; screenshots in both themes and on a phone; no CSP violation; anyone
 * but an admin sees "Admins only" and the page asks for nothing.
 */
import { existsSync, statSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startReceiver, validSignature, type Receiver } from '../lib/ops/webhook-receiver'
import { createSession, newPage, screenshot, setupServerAndBrowser, terminateSession, until, type TestServer } from './support'

let server: TestServer
let browser: Browser
let receiver: Receiver

setupServerAndBrowser(
  (started, launched) => {
    server = started
    browser = launched
  },
  { TETHER_WORKERS: 'off', TETHER_ALLOW_LOOPBACK_WEBHOOKS: '1' },
)
beforeAll(async () => {
  receiver = await startReceiver()
})
afterAll(async () => {
  await receiver?.close()
})

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
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    )
  })
  return async () => [...consoleViolations, ...(await page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []))]
}

/** The delivery rows on the page, as data. */
async function rows(page: Page): Promise<Array<{ eventId: string; type: string; outcome: string; status: string; attempt: number }>> {
  return page.$$eval('[data-testid="delivery"]', (els) =>
    els.map((el) => ({
      eventId: el.getAttribute('data-event-id') ?? '',
      type: el.querySelector('td:nth-child(2)')?.textContent ?? '',
      outcome: el.getAttribute('data-outcome') ?? '',
      status: el.getAttribute('data-status') ?? '',
      attempt: Number(el.getAttribute('data-attempt')),
    })),
  )
}

function expectImage(path: string) {
  expect(existsSync(path)).toBe(true)
  expect(statSync(path).size).toBeGreaterThan(10_000)
}

describe('webhooks admin page', () => {
  it('adds an endpoint, shows deliveries and failures, replays, refuses a bad URL, deletes, in both themes and on a phone', async () => {
    const admin = await server.token('admin', undefined, 'maya')
    const { page, context, errors } = await newPage(browser)
    const violations = await watchCsp(page)
    await page.goto(`${server.url}/admin/webhooks?token=${encodeURIComponent(admin)}`)
    await page.getByTestId('webhooks').waitFor()
    await page.getByTestId('webhooks-empty').waitFor()
    // Signing info is the server's key.
    const jwks = (await (await fetch(`${server.url}/api/webhooks/jwks.json`)).json()) as { keys: Array<{ kid: string }> }
    expect(await page.getByTestId('webhook-kid').textContent()).toBe(jwks.keys[0]?.kid)
    expect(await page.getByTestId('webhook-jwks').getAttribute('href')).toBe('/api/webhooks/jwks.json')

    // A bad URL: the API's own reason, inline.
    const bad = 'http://example.com/hook'
    const refused = await fetch(`${server.url}/api/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: bad }),
    })
    expect(refused.status).toBe(400)
    const reason = ((await refused.json()) as { error: string }).error
    await page.getByTestId('webhook-url').fill(bad)
    await page.getByTestId('webhook-create').click()
    await page.getByTestId('webhook-form-error').waitFor()
    expect(await page.getByTestId('webhook-form-error').textContent()).toContain(reason)
    expect(await page.getByTestId('webhook').count()).toBe(0)

    // A good one, for two event types.
    await page.getByTestId('webhook-url').fill(receiver.url)
    await page.getByTestId('webhook-event-session.created').check()
    await page.getByTestId('webhook-event-session.ended').check()
    await page.getByTestId('webhook-description').fill('Pager bridge')
    await page.getByTestId('webhook-create').click()
    await page.getByTestId('webhook').waitFor()
    expect(await page.getByTestId('webhook-form-error').count()).toBe(0)
    expect(await page.getByTestId('webhook-events').textContent()).toBe('session.created, session.ended')
    expect(await page.getByTestId('webhook').getAttribute('data-url')).toBe(receiver.url)
    expect(await page.getByTestId('webhook-last').getAttribute('data-outcome')).toBe('none')

    // session.created: delivered, shown, and the receiver got that id, signed.
    const s = await createSession(server, admin, 'Watched by a webhook')
    await until(page, 'the created event delivered', async () =>
      (await rows(page)).some((r) => r.type === 'session.created' && r.outcome === 'delivered'),
    )
    const created = (await rows(page)).find((r) => r.type === 'session.created')
    const got = receiver.delivered().get(created?.eventId ?? '') ?? []
    expect(got).toHaveLength(1)
    expect(got[0]?.event).toMatchObject({ type: 'session.created', sessionId: s.id })
    expect(validSignature(got[0] as NonNullable<(typeof got)[0]>, jwks)).toBe(true)
    expect(await page.getByTestId('webhook-last').getAttribute('data-outcome')).toBe('delivered')
    expectImage(await screenshot(page, 'webhooks-light'))

    // A receiver answering 500: the failed attempt shows with its status.
    receiver.answer = () => 500
    await terminateSession(server, admin, s.id)
    await until(page, 'a 500 attempt shown', async () => (await rows(page)).some((r) => r.type === 'session.ended' && r.status === '500'))
    const failed = (await rows(page)).find((r) => r.type === 'session.ended' && r.status === '500')
    expect(failed?.outcome).toBe('retrying')
    expect(receiver.received.some((r) => r.id === failed?.eventId)).toBe(true)
    expect(receiver.delivered().has(failed?.eventId ?? '')).toBe(false)

    // Fixed receiver, Replay: one attempt now, delivered. The row is pinned by its attempt number:
    // an automatic retry that the receiver answered 500 before the switch may show up above it
    // after the click, and a locator by status alone would then move to that newer row.
    receiver.answer = () => 200
    const row = page.locator(`[data-testid="delivery"][data-event-id="${failed?.eventId}"][data-attempt="${failed?.attempt}"]`)
    await row.getByTestId('delivery-replay').click()
    await row.locator('[data-testid="replay-result"][data-outcome="delivered"]').waitFor()
    expect(receiver.delivered().get(failed?.eventId ?? '')?.[0]?.event).toMatchObject({ type: 'session.ended', sessionId: s.id })
    await until(page, 'the ended event delivered', async () =>
      (await rows(page)).some((r) => r.eventId === failed?.eventId && r.outcome === 'delivered'),
    )

    await page.getByRole('button', { name: 'Switch to dark theme' }).click()
    await until(page, 'the dark theme', async () => (await page.evaluate(() => document.documentElement.dataset.theme)) === 'dark')
    // The theme's colour transitions finish before the picture is taken.
    await until(page, 'transitions done', async () => (await page.evaluate(() => document.getAnimations().length)) === 0)
    expectImage(await screenshot(page, 'webhooks-dark'))

    await page.setViewportSize({ width: 390, height: 844 })
    await until(page, 'nothing wider than the phone', async () => (await page.evaluate(() => document.documentElement.scrollWidth)) <= 390)
    expectImage(await screenshot(page, 'webhooks-phone'))
    await page.setViewportSize({ width: 1366, height: 860 })

    // Delete asks first, then the endpoint is gone (here and in the API).
    await page.getByTestId('webhook-delete').click()
    expect(await page.getByTestId('webhook').count()).toBe(1)
    await page.getByTestId('webhook-delete-confirm').click()
    await page.getByTestId('webhooks-empty').waitFor()
    const list = (await (await fetch(`${server.url}/api/webhooks`, { headers: { authorization: `Bearer ${admin}` } })).json()) as {
      webhooks: unknown[]
    }
    expect(list.webhooks).toEqual([])

    expect(await violations()).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)

  it('links from the header for admins only, and says "Admins only" to anyone else without asking for data', async () => {
    const admin = await server.token('admin', undefined, 'maya')
    const { id } = await createSession(server, admin, 'Shared')
    const home = await newPage(browser)
    await home.page.goto(`${server.url}/?token=${encodeURIComponent(admin)}`)
    await home.page.getByTestId('webhooks-link').click()
    await home.page.getByTestId('webhooks').waitFor()
    expect(new URL(home.page.url()).pathname).toBe('/admin/webhooks')
    await home.context.close()

    for (const role of ['collaborator', 'viewer'] as const) {
      const token = await server.token(role, id, `u-${role}`)
      const { page, context, errors } = await newPage(browser)
      const violations = await watchCsp(page)
      const asked: string[] = []
      page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/api/webhooks')) asked.push(r.url())
      })
      await page.goto(`${server.url}/admin/webhooks?token=${encodeURIComponent(token)}`)
      await page.getByRole('heading', { name: 'Admins only' }).waitFor()
      expect(await page.getByTestId('webhooks').count()).toBe(0)
      expect(await page.getByTestId('webhooks-link').count()).toBe(0)
      expect(asked).toEqual([])
      expect(await violations()).toEqual([])
      expect(errors).toEqual([])
      await context.close()
    }
  }, 60_000)
})
