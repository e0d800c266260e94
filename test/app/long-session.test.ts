/**
 * A long session in the browser (issue 10, "long sessions stay fast"): the page opens from the
 * server's view (GET …/view: the newest messages; the stream is read from the view's offset, never
 * from -1), the windowed message list shows the newest message on open, older pages load when
 * scrolling to the top (back to the first message), and a message streamed afterwards is whole;
 * a wheel turn up while an answer streams in is not pulled back to the bottom.
 * Timing is measured by `npm run bench -- --only session-page`.
 */
import type { Browser } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSession, newPage, setupServerAndBrowser, until, writeEvents, type EventInput, type TestServer } from './support'

let server: TestServer
let browser: Browser
setupServerAndBrowser(
  (s, b) => {
    server = s
    browser = b
  },
  { TETHER_WORKERS: 'off' },
)

const MESSAGES = 10_000

/** 10,000 messages: users' one-chunk questions, answers in three chunks; written 1,000 events a request. */
async function fill(admin: string, sessionId: string): Promise<void> {
  let batch: EventInput[] = []
  for (let m = 0; m < MESSAGES; m++) {
    const messageId = `m${m}`
    if (m % 2 === 0) {
      batch.push({ channel: 'chunk', data: { messageId, role: 'user', author: 'admin-user', turn: m / 2 + 1, seq: 0, delta: `question ${m}`, done: true } })
    } else {
      for (let seq = 0; seq < 3; seq++) {
        const delta = seq === 0 ? `answer ${m}` : ` part${seq}`
        batch.push({ channel: 'chunk', data: { messageId, role: 'assistant', author: 'agent-test', turn: (m + 1) / 2, seq, delta, done: seq === 2 } })
      }
    }
    if (batch.length >= 997) {
      await writeEvents(server, admin, sessionId, batch)
      batch = []
    }
  }
  if (batch.length) await writeEvents(server, admin, sessionId, batch)
}

const textOf = (page: import('playwright-core').Page, id: string) =>
  page.locator(`[data-message-id="${id}"] [data-testid="message-text"]`).textContent({ timeout: 1000 })

describe('a 10,000-message session', () => {
  it('opens at the last message, shows the first after scrolling to the top, and shows a new streamed message whole', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const session = await createSession(server, admin, 'Long session')
    await fill(admin, session.id)
    const { context, page, errors } = await newPage(browser)
    // Every request the page makes (the live SSE read never completes, so resource timing lacks it).
    const requested: string[] = []
    page.on('request', (req) => requested.push(req.url()))
    await page.goto(`${server.url}/sessions/${session.id}?token=${admin}`)
    await until(page, 'the last message', async () => (await textOf(page, `m${MESSAGES - 1}`)) === `answer ${MESSAGES - 1} part1 part2`, 120_000)
    // The HTML's preview (session-html.test.ts) shows the last message first; then the live list.
    await until(page, 'the live list', async () => (await page.locator('[data-testid="conversation-preview"]').count()) === 0, 120_000)
    expect(await textOf(page, `m${MESSAGES - 1}`)).toBe(`answer ${MESSAGES - 1} part1 part2`)
    // Windowed: far fewer message elements than messages.
    expect(await page.locator('[data-testid="message"]').count()).toBeLessThan(200)
    // Opened from the view: older messages are on the server, the stream was never read from the start.
    expect(requested.some((u) => u.includes(`/api/sessions/${session.id}/view`))).toBe(true)
    const streamReads = requested.filter((u) => u.includes(`/api/streams/sessions/${session.id}`))
    expect(streamReads.length).toBeGreaterThan(0)
    expect(streamReads.some((u) => new URL(u).searchParams.get('offset') === '-1')).toBe(false)
    await page.locator('[data-testid="load-older"]').waitFor({ timeout: 5000 })
    expect(await page.locator('[data-message-id="m0"]').count()).toBe(0)

    await until(page, 'the first message after scrolling to the top', async () => {
      await page.evaluate(() => {
        const el = document.querySelector('[data-testid="conversation"]')
        if (el) el.scrollTop = 0
      })
      return (await textOf(page, 'm0')) === 'question 0'
    })

    // Back at the bottom, a message streamed in 40 chunks arrives whole.
    await page.evaluate(() => {
      const el = document.querySelector('[data-testid="conversation"]')
      if (el) el.scrollTop = el.scrollHeight
    })
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`)
    for (let i = 0; i < words.length; i++) {
      const data = { messageId: 'live', role: 'assistant', author: 'agent-test', turn: 9999, seq: i, delta: (i ? ' ' : '') + words[i], done: i === words.length - 1 }
      await writeEvents(server, admin, session.id, { channel: 'chunk', data })
    }
    await until(page, 'the streamed message complete', async () => (await textOf(page, 'live')) === words.join(' '))
    expect(errors).toEqual([])
    await context.close()
  }, 300_000)

  it('a wheel turn up while an answer streams in leaves the bottom, and the answer does not pull the reader back', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const session = await createSession(server, admin, 'Scroll while streaming')
    const earlier: EventInput[] = []
    for (let m = 0; m < 40; m++)
      earlier.push({ channel: 'chunk', data: { messageId: `s${m}`, role: m % 2 ? 'assistant' : 'user', author: m % 2 ? 'agent-test' : 'admin-user', turn: 1 + (m >> 1), seq: 0, delta: `message ${m} `.repeat(20), done: true } })
    await writeEvents(server, admin, session.id, earlier)
    const { context, page, errors } = await newPage(browser)
    await page.goto(`${server.url}/sessions/${session.id}?token=${admin}`)
    await until(page, 'the live list', async () => (await page.locator('[data-testid="conversation-preview"]').count()) === 0 && (await textOf(page, 's39')) !== null)
    const fromBottom = () =>
      page.evaluate(() => {
        const el = document.querySelector('[data-testid="conversation"]') as HTMLElement
        return el.scrollHeight - el.scrollTop - el.clientHeight
      })
    await until(page, 'the list at the bottom', async () => (await fromBottom()) <= 1, 10_000)
    // An answer streams in, a word every 20 ms (each one resizes the list), and the reader turns the wheel up meanwhile.
    let streaming = true
    const stream = (async () => {
      for (let i = 0; streaming && i < 400; i++) {
        await writeEvents(server, admin, session.id, { channel: 'chunk', data: { messageId: 'live2', role: 'assistant', author: 'agent-test', turn: 99, seq: i, delta: ` word${i}${i % 8 === 7 ? '\n' : ''}`, done: false } })
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    await until(page, 'the answer on screen', async () => ((await textOf(page, 'live2').catch(() => null)) ?? '').includes('word3'))
    const box = await page.locator('[data-testid="conversation"]').boundingBox()
    await page.mouse.move((box?.x ?? 0) + 100, (box?.y ?? 0) + 100)
    await page.mouse.wheel(0, -400)
    await page.waitForTimeout(1500)
    const away = await fromBottom()
    streaming = false
    await stream
    expect(away).toBeGreaterThan(200)
    expect(await fromBottom()).toBeGreaterThan(200)
    expect(errors).toEqual([])
    await context.close()
  }, 120_000)
})
