/**
 * The session page is usable before its JavaScript runs (issue 10, "interactive in under 1 s"):
 * the server-rendered composer is a real form (composer-form.ts). With JavaScript off it posts to
 * POST /sessions/:id/messages, which appends through the event writer and answers 303 back to the
 * page; typed before the scripts arrive, the text survives hydration once; and the form's POST
 * refuses every credential the live composer would refuse. One server and one browser for the file.
 */
import type { Browser, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSession, newPage, readStream, setupServerAndBrowser, terminateSession, until, type TestServer } from './support'

let server: TestServer
let browser: Browser
setupServerAndBrowser(
  (s, b) => {
    server = s
    browser = b
  },
  { TETHER_WORKERS: 'off' },
)

const BOX = '[data-testid="composer"]'
const SEND = '[data-testid="send"]'
const FORM = '[data-testid="composer-form"]'

type StreamEvent = Awaited<ReturnType<typeof readStream>>[number]
const userChunks = (events: StreamEvent[], text: string) =>
  events.filter((e) => e.type === 'chunk' && e.value?.role === 'user' && e.value.delta === text)
const turnOf = (events: StreamEvent[], messageId: unknown) =>
  events.find((e) => e.type === 'agent-state' && e.value?.kind === 'turn' && e.value.messageId === messageId)

async function seeded(title: string) {
  const admin = await server.token('admin', undefined, 'admin-user')
  const { id, shareToken } = await createSession(server, admin, title)
  const alice = await server.token('collaborator', id, 'alice')
  return { admin, id, alice, shareToken }
}

/** POST the form as a browser would, with `headers` on top. */
function postForm(id: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return fetch(`${server.url}/sessions/${id}/messages`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  })
}

describe('the session page composer before (and without) JavaScript', () => {
  it('works with JavaScript off: typing, Send, 303 back, the message on the page and in the stream with its turn', async () => {
    const { admin, id, alice } = await seeded('No-script session')
    const res = await fetch(`${server.url}/sessions/${id}?token=${alice}`)
    expect(res.headers.get('cache-control')).toBe('no-store')
    await res.arrayBuffer()

    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1366, height: 860 } })
    try {
      const page = await context.newPage()
      await page.goto(`${server.url}/sessions/${id}?token=${alice}`)
      expect(await page.locator(BOX).isEnabled()).toBe(true)
      expect(await page.locator(SEND).isEnabled()).toBe(true)
      await page.locator(BOX).click()
      await page.keyboard.type('sent with scripts off')
      await page.keyboard.press('Shift+Enter')
      await page.keyboard.type('second line')
      await Promise.all([page.waitForURL(`**/sessions/${id}?token=*`), page.click(SEND)])
      const text = page.locator('[data-testid="message"][data-role="user"] [data-testid="message-text"]')
      expect(await text.allTextContents()).toEqual(['sent with scripts off\nsecond line'])
    } finally {
      await context.close()
    }
    const events = await readStream(server, admin, id)
    const [chunk] = userChunks(events, 'sent with scripts off\nsecond line')
    expect(chunk?.value).toMatchObject({ author: 'alice', done: true, seq: 0 })
    expect(turnOf(events, chunk?.value?.messageId)?.value).toMatchObject({ status: 'accepted' })
  })

  it('keeps text typed while the scripts are held back through hydration, once, and Send then sends live once', async () => {
    const { admin, id, alice } = await seeded('Held-script session')
    const { context, page, errors } = await newPage(browser)
    const logged: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') logged.push(m.text())
    })
    let release = () => {}
    const released = new Promise<void>((r) => {
      release = r
    })
    await page.route(/\.js(\?.*)?$/, async (route) => {
      await released
      await route.continue()
    })
    try {
      await page.goto(`${server.url}/sessions/${id}?token=${alice}`, { waitUntil: 'commit' })
      await page.waitForSelector(BOX)
      expect(await page.locator(FORM).getAttribute('data-mode')).toBe('form')
      expect(await page.locator(BOX).isEnabled()).toBe(true)
      await page.locator(BOX).click()
      await page.keyboard.type('typed before the scripts')
      expect(await page.locator(SEND).isEnabled()).toBe(true)
      // Still no script: nothing of the app has run.
      expect(await isHydrated(page)).toBe(false)
      release()
      await until(page, 'the composer went live', async () => (await page.locator(FORM).getAttribute('data-mode')) === 'live')
      expect(await page.locator(BOX).inputValue()).toBe('typed before the scripts')
      // The live composer holds the text (Send follows its state now), and the caret stayed put.
      expect(await page.locator(SEND).isEnabled()).toBe(true)
      expect(await page.locator(BOX).evaluate((el: HTMLTextAreaElement) => [el.selectionStart, el.value.length])).toEqual([24, 24])
      await page.click(SEND)
      await page.waitForSelector('[data-testid="message"][data-role="user"][data-pending="false"]')
      expect(await page.locator(BOX).inputValue()).toBe('')
      expect(page.url()).toContain(`/sessions/${id}`)
      const events = await readStream(server, admin, id)
      expect(userChunks(events, 'typed before the scripts')).toHaveLength(1)
      expect(events.filter((e) => e.type === 'chunk' && e.value?.role === 'user')).toHaveLength(1)
      expect(errors).toEqual([])
      expect(logged.filter((l) => /Minified React error|hydrat/i.test(l))).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('renders the form for each role as the live page would, and the POST refuses every other credential', async () => {
    const { admin, id, alice, shareToken } = await seeded('Form roles session')
    const other = await createSession(server, admin, 'Another session')
    const viewer = await server.token('viewer', id, 'vera')
    const otherCollaborator = await server.token('collaborator', other.id, 'alice')

    const composerOf = async (query: string) => {
      const html = await (await fetch(`${server.url}/sessions/${id}${query}`)).text()
      const textarea = /<textarea[^>]*id="composer-input"[^>]*>/.exec(html)?.[0] ?? ''
      return { textarea, tokenField: html.includes('name="token"') }
    }
    const mine = await composerOf(`?token=${alice}`)
    expect(mine.textarea).not.toContain('disabled')
    expect(mine.tokenField).toBe(true)
    const viewing = await composerOf(`?token=${viewer}`)
    expect(viewing.textarea).toMatch(/disabled/)
    expect(viewing.textarea).toContain('placeholder="Read-only"')
    expect(viewing.tokenField).toBe(false)
    expect((await composerOf(`?token=${shareToken}`)).textarea).toMatch(/disabled/)
    expect((await composerOf('')).textarea).toMatch(/disabled/)
    expect((await composerOf(`?token=${otherCollaborator}`)).textarea).toMatch(/disabled/)

    const refusals: Array<[string, Record<string, string>, Record<string, string>, number[]]> = [
      ['viewer', { text: 'from a viewer', token: viewer }, {}, [403]],
      ['share link', { text: 'from a share link', token: shareToken }, {}, [403]],
      ['no token', { text: 'from nobody' }, {}, [401]],
      ['bad token', { text: 'from a forged token', token: `${alice}x` }, {}, [401]],
      ['another session', { text: 'from another session', token: otherCollaborator }, {}, [403]],
      ['cross-site Origin', { text: 'from another site', token: alice }, { origin: 'https://evil.example' }, [403]],
      ['cross-site fetch', { text: 'from another site 2', token: alice }, { 'sec-fetch-site': 'cross-site' }, [403]],
      ['empty', { text: '  \r\n ', token: alice }, {}, [400]],
      ['bad turn', { text: 'bad turn', token: alice, turn: '-1' }, {}, [400]],
      ['too long', { text: 'x'.repeat(1_100_000), token: alice }, {}, [413]],
      // Odd spellings: never let through.
      ['viewer token padded with spaces', { text: 'padded', token: ` ${viewer} ` }, {}, [401, 403]],
      ['Sec-Fetch-Site in capitals', { text: 'capitals', token: alice }, { 'sec-fetch-site': 'Cross-Site' }, [403]],
      ['own origin with a trailing slash', { text: 'slash', token: alice }, { origin: `${server.url}/` }, [403]],
    ]
    for (const [who, fields, headers, statuses] of refusals) {
      const res = await postForm(id, fields, headers)
      const body = await res.text()
      expect(statuses, `${who}: ${res.status} ${body.slice(0, 300)}`).toContain(res.status)
      expect(body).toContain('Your message was not sent')
    }
    const wrongType = await fetch(`${server.url}/sessions/${id}/messages`, { method: 'POST', body: JSON.stringify({ text: 'json', token: alice }) })
    expect(wrongType.status).toBe(415)
    // An encoded path that names no session (or another mount) is a 4xx, not a write anywhere.
    for (const odd of [encodeURIComponent(`../${id}`), `${id}%2Fmessages`, encodeURIComponent('../../api/streams')]) {
      const res = await fetch(`${server.url}/sessions/${odd}/messages`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ text: `odd path ${odd}`, token: alice }).toString(),
      })
      expect(res.status, odd).toBeGreaterThanOrEqual(400)
      expect(res.status, odd).toBeLessThan(500)
    }

    // The page's own token, same origin: 303 back (with the token, as no page cookie holds it); a
    // double submit of one rendered form appends once.
    const fields = { text: 'from the form', token: alice, messageId: 'form-msg-1' }
    for (let i = 0; i < 2; i++) {
      const ok = await postForm(id, fields, { origin: server.url })
      expect(ok.status).toBe(303)
      expect(ok.headers.get('location')).toBe(`/sessions/${id}?token=${alice}`)
    }
    const events = await readStream(server, admin, id)
    const users = events.filter((e) => e.type === 'chunk' && e.value?.role === 'user')
    expect(users.map((e) => e.value?.delta)).toEqual(['from the form'])
    // The form's media type in another spelling (case, parameters) is the same form.
    const spelled = await fetch(`${server.url}/sessions/${id}/messages`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'Application/X-WWW-Form-URLEncoded; Charset=UTF-8' },
      body: new URLSearchParams({ text: 'spelled type', token: alice }).toString(),
    })
    expect(spelled.status).toBe(303)
    expect(userChunks(await readStream(server, admin, id), 'spelled type')).toHaveLength(1)

    // An ended session: refused (4xx), nothing appended; its page's form is disabled.
    await terminateSession(server, admin, id)
    const ended = await postForm(id, { text: 'after the end', token: alice })
    expect(ended.status).toBeGreaterThanOrEqual(400)
    expect(ended.status).toBeLessThan(500)
    expect((await composerOf(`?token=${alice}`)).textarea).toContain('placeholder="The session has ended"')
    expect(userChunks(await readStream(server, admin, id), 'after the end')).toEqual([])
  })
})

/** The app's scripts have run (the session page marks when hydration reached it). */
function isHydrated(page: Page): Promise<boolean> {
  return page.evaluate(() => performance.getEntriesByName('tether:page-render').length > 0)
}
