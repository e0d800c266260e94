/**
 * The session page's HTML already holds the newest messages and the terminal's last screen
 * (issue 10, "long sessions stay fast": the first message paints before any script runs), as the
 * page's own token may read them (the view's role rules), with user content escaped.
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

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
const OTHER_SECRET = 'OTHER-SESSION-WORDS-7f3a'

async function seeded(): Promise<{ admin: string; id: string; otherId: string }> {
  const admin = await server.token('admin', undefined, 'admin-user')
  const { id } = await createSession(server, admin, 'Preview session')
  await writeEvents(server, admin, id, [
    { channel: 'chunk', data: { messageId: 'm1', role: 'user', author: 'admin-user', turn: 1, seq: 0, delta: 'first question here', done: true } },
    { channel: 'chunk', data: { messageId: 'm2', role: 'assistant', author: 'agent-test', turn: 1, seq: 0, delta: HOSTILE, done: true } },
    { channel: 'terminal', data: { kind: 'output', source: 'agent-test', stream: 'stdout', data: 'PREVIEW-TERMINAL-LINE\r\n' } },
  ])
  const other = await createSession(server, admin, 'Other session')
  await writeEvents(server, admin, other.id, [
    { channel: 'chunk', data: { messageId: 'o1', role: 'user', author: 'admin-user', turn: 1, seq: 0, delta: OTHER_SECRET, done: true } },
  ])
  return { admin, id, otherId: other.id }
}

const html = async (path: string) => {
  const res = await fetch(`${server.url}${path}`)
  expect(res.status).toBe(200)
  return res.text()
}

describe('the session page HTML', () => {
  it('holds the newest messages and the terminal screen, escaped, and shows them with JavaScript off', async () => {
    const { admin, id } = await seeded()
    const body = await html(`/sessions/${id}?token=${admin}`)
    expect(body).toContain('data-message-id="m1"')
    expect(body).toContain('first question here')
    expect(body).toContain('PREVIEW-TERMINAL-LINE')
    // The hostile text is in the HTML only as text: never as a tag.
    expect(body).not.toContain('<script>window.__pwned')
    expect(body).not.toContain('<img src=x')
    expect(body).toContain('&lt;script&gt;window.__pwned=1&lt;/script&gt;')

    // With scripts off the page shows them as they came from the server.
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1366, height: 860 } })
    try {
      const page = await context.newPage()
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`)
      const shown = await page.$$eval('[data-testid="message"]', (els) => els.map((e) => e.getAttribute('data-message-id')))
      expect(shown).toEqual(['m1', 'm2'])
      expect(await page.locator('[data-message-id="m2"] [data-testid="message-text"]').textContent()).toBe(HOSTILE)
      expect(await page.locator('[data-testid="terminal-preview"]').textContent()).toContain('PREVIEW-TERMINAL-LINE')
      // The newest message is on screen (the preview opens at the bottom).
      expect(await page.locator('[data-message-id="m2"]').isVisible()).toBe(true)
    } finally {
      await context.close()
    }
  })

  it('runs no user content when the page hydrates and goes live', async () => {
    const { admin, id } = await seeded()
    const { context, page, errors } = await newPage(browser)
    // A hydration mismatch is only logged (production React: "Minified React error #418/#423/#425").
    const logged: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') logged.push(m.text())
    })
    try {
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`)
      // Live: the composer takes typing, and the live list (not the preview) shows the message.
      await until(page, 'the live list', async () => (await page.locator('[data-message-id="m2"]:not([data-preview])').count()) === 1)
      expect(await page.locator('[data-message-id="m2"] [data-testid="message-text"]').textContent()).toBe(HOSTILE)
      expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
      expect(await page.locator('[data-testid="conversation-preview"]').count()).toBe(0)
      expect([...errors, ...logged].filter((e) => /hydrat|#418|#423|#425/i.test(e))).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('opens the live list where the reader had scrolled the preview before the script ran, not at the bottom', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const { id } = await createSession(server, admin, 'Scrolled before the script')
    const filler = 'words to make the message tall enough to scroll '.repeat(8)
    await writeEvents(
      server,
      admin,
      id,
      Array.from({ length: 40 }, (_, i) => ({
        channel: 'chunk',
        data: { messageId: `p${String(i).padStart(2, '0')}`, role: 'user', author: 'admin-user', turn: i + 1, seq: 0, delta: `${i} ${filler}`, done: true },
      })),
    )
    const { context, page, errors } = await newPage(browser)
    // The page's scripts wait until the reader has scrolled the server-rendered preview.
    let release = () => {}
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    await page.route(/\/assets\/.*\.js(\?|$)/, async (route) => {
      await released
      await route.continue()
    })
    try {
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`, { waitUntil: 'domcontentloaded' })
      const preview = page.getByTestId('conversation-preview')
      await preview.waitFor()
      const box = await preview.boundingBox()
      if (!box) throw new Error('no preview box')
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
      await page.mouse.wheel(0, -600)
      await until(page, 'the preview scrolled up', async () => (await preview.evaluate((el) => el.scrollTop)) <= -500)
      // The message at the middle of the preview's viewport, which the reader is looking at.
      const looking = await preview.evaluate((el) => {
        const r = el.getBoundingClientRect()
        return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)?.closest('[data-message-id]')?.getAttribute('data-message-id')
      })
      expect(looking).toMatch(/^p\d\d$/)
      expect(looking).not.toBe('p39')

      release()
      await until(page, 'the live list', async () => (await page.locator('[data-message-id="p39"]:not([data-preview])').count()) === 1)
      const conversation = page.getByTestId('conversation')
      const fromBottom = await conversation.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)
      expect(fromBottom).toBeGreaterThan(300)
      // That message is still on screen in the live list.
      const shown = await page.locator(`[data-message-id="${looking}"]:not([data-preview])`).boundingBox()
      const view = await conversation.boundingBox()
      if (!shown || !view) throw new Error('no message or conversation box')
      expect(shown.y + shown.height).toBeGreaterThan(view.y)
      expect(shown.y).toBeLessThan(view.y + view.height)
      expect(errors).toEqual([])
    } finally {
      release()
      await context.close()
    }
  })

  it('keeps the preview after a reload (the token has left the address bar) through a cookie scoped to the session page', async () => {
    const { admin, id } = await seeded()
    const { context, page } = await newPage(browser)
    try {
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`)
      await until(page, 'the token to leave the address bar', () => !page.url().includes('token='))
      await until(page, 'the live list', async () => (await page.locator('[data-testid="conversation-preview"]').count()) === 0)
      const cookies = (await context.cookies()).filter((c) => c.name === 'tether_page_token')
      expect(cookies.map((c) => ({ path: c.path, sameSite: c.sameSite, value: c.value }))).toEqual([
        { path: `/sessions/${id}`, sameSite: 'Strict', value: admin },
      ])
      const reloaded = await page.reload()
      expect(page.url()).not.toContain('token=')
      const body = (await reloaded?.text()) ?? ''
      expect(body).toContain('first question here')
      expect(body).toContain('data-message-id="m2"')
      // The cookie is the page's token for this session's pages only: another session's page, no preview.
      const elsewhere = await context.request.get(`${server.url}/sessions/s_other`)
      expect(await elsewhere.text()).not.toContain('first question here')
    } finally {
      await context.close()
    }
  })

  it("gives a viewer its session's messages and nothing else; no token or another session's token gets none", async () => {
    const { admin, id, otherId } = await seeded()
    const viewer = await server.token('viewer', id)
    const viewerBody = await html(`/sessions/${id}?token=${viewer}`)
    expect(viewerBody).toContain('first question here')
    expect(viewerBody).not.toContain(OTHER_SECRET)
    expect(viewerBody).not.toContain(admin)
    expect(viewerBody).not.toContain(server.secret)

    // The viewer's token on the other session's page: refused by the view, so no preview.
    const crossBody = await html(`/sessions/${otherId}?token=${viewer}`)
    expect(crossBody).not.toContain(OTHER_SECRET)
    expect(crossBody).not.toContain('data-testid="message"')
    // No token at all: no preview.
    const bare = await html(`/sessions/${id}`)
    expect(bare).not.toContain('first question here')
    expect(bare).not.toContain('PREVIEW-TERMINAL-LINE')
  })

  it('takes the page token only from its exact cookie name; odd spellings, forged values and an oversized cookie get no preview and break nothing', async () => {
    const { admin, id, otherId } = await seeded()
    const page = (cookie: string, path = `/sessions/${id}`) => fetch(`${server.url}${path}`, { headers: { cookie } })
    const previewOf = async (cookie: string, path?: string) => {
      const res = await page(cookie, path)
      return { status: res.status, shows: (await res.text()).includes('first question here') }
    }
    expect(await previewOf(`tether_page_token=${admin}`)).toEqual({ status: 200, shows: true })
    // Names that only look like it.
    for (const cookie of [`Tether_Page_Token=${admin}`, `tether_page_token_old=${admin}`, `xtether_page_token=${admin}`, `tether_page_token =${admin}`]) {
      expect(await previewOf(cookie), cookie).toEqual({ status: 200, shows: false })
    }
    // A forged or empty value, and another session's page with this token, get no preview.
    expect(await previewOf(`tether_page_token=${admin.slice(0, -4)}AAAA`)).toEqual({ status: 200, shows: false })
    expect(await previewOf('tether_page_token=')).toEqual({ status: 200, shows: false })
    expect((await previewOf(`tether_page_token=${admin}`, `/sessions/${otherId}`)).shows).toBe(false)
    // Odd spellings of the session path: never another session's preview, never a server error.
    for (const path of [`/sessions/${id}/`, `/sessions/${id.toUpperCase()}`, `/sessions/..%2F${id}`, `/sessions/%2e%2e/${id}`]) {
      const res = await page(`tether_page_token=${admin}`, path)
      expect(res.status, path).toBeLessThan(500)
      expect(await res.text(), path).not.toContain(OTHER_SECRET)
    }
    // A cookie header over Node's header limit: refused before the app, and the server serves on.
    const huge = await page(`tether_page_token=${'a'.repeat(40_000)}`)
    expect(huge.status).toBe(431)
    expect(await previewOf(`tether_page_token=${admin}`)).toEqual({ status: 200, shows: true })
  })
})
