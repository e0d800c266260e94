/**
 * The terminal page with a long terminal (issue 10, "long sessions stay fast"): its HTML asks for
 * the server's view as it is parsed and preloads xterm; it opens from the view (its newest terminal
 * window; the stream is read from the view's offset, never from -1), draws that window while the
 * live read has not answered yet, and "Load earlier output"
 * fetches the windows before it from the server back to the first row, the command list growing
 * with them. Timing is measured by bench/scenarios/terminal-open.ts.
 */
import type { Browser, Page, Route } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { createSession, newPage, setupServerAndBrowser, terminalText, until, writeEvents, type EventInput, type TestServer } from './support'

let server: TestServer
let browser: Browser
setupServerAndBrowser(
  (s, b) => {
    server = s
    browser = b
  },
  { TETHER_WORKERS: 'off' },
)

const COMMANDS = 120
const ROWS_PER_COMMAND = 100

/** 12,000 rows of output under 120 commands, one output event per command (as the worker batches). */
async function fill(admin: string, sessionId: string): Promise<void> {
  let batch: EventInput[] = []
  for (let c = 0; c < COMMANDS; c++) {
    batch.push({ channel: 'terminal', data: { id: `cmd${c}`, kind: 'input', source: 'admin-user', data: `ls dir${c}` } })
    let data = ''
    for (let r = 0; r < ROWS_PER_COMMAND; r++) data += `row ${c * ROWS_PER_COMMAND + r}\r\n`
    batch.push({ channel: 'terminal', data: { kind: 'output', source: 'agent-test', stream: 'stdout', commandId: `cmd${c}`, data } })
    if (batch.length >= 60) {
      await writeEvents(server, admin, sessionId, batch)
      batch = []
    }
  }
  if (batch.length) await writeEvents(server, admin, sessionId, batch)
}

/** xterm's rows without the author's name a command's prompt row carries at its right end (TerminalPane). */
const rows = async (page: Page) => (await terminalText(page)).split('\n').map((r) => r.replace(/ {2,}.*◂$/, ''))
const LAST_ROW = `row ${COMMANDS * ROWS_PER_COMMAND - 1}`

describe('a 12,000-row terminal', () => {
  it('opens from the view, draws before the live read answers, and loads earlier output back to the first row', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const session = await createSession(server, admin, 'Long terminal')
    await fill(admin, session.id)
    // The HTML asks for the view as it is parsed and preloads xterm with the page's scripts.
    const html = await (await fetch(`${server.url}/sessions/${session.id}/terminal?token=${admin}`)).text()
    expect(html).toContain('__tetherView')
    expect(html).toMatch(/<link[^>]*modulepreload[^>]*\/assets\/xterm-[^"]*\.js/)
    const { page, errors } = await newPage(browser)
    const requested: string[] = []
    page.on('request', (req) => requested.push(req.url()))
    // The live read is held: what xterm shows meanwhile came from the view.
    const held: Route[] = []
    await page.route('**/api/streams/sessions/**', (route) => void held.push(route))
    await page.goto(`${server.url}/sessions/${session.id}/terminal?token=${admin}`)
    await until(page, 'the newest row from the view', async () => (await rows(page)).includes(LAST_ROW))
    expect(held.length).toBeGreaterThan(0)
    expect(await page.locator('[data-testid="connection"][data-state="live"]').count()).toBe(0)
    // Only the view's window: the head holds the newest 1,000 rows (session-view.ts).
    expect((await rows(page)).includes('row 0')).toBe(false)
    for (const route of held.splice(0)) await route.continue()
    await page.unroute('**/api/streams/sessions/**')
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    const views = requested.filter((u) => /\/view(\?|$)/.test(u))
    // One view request (the HTML's boot script's, adopted by the page), no read from the start.
    expect(views).toHaveLength(1)
    expect(requested.some((u) => u.includes('/api/streams/sessions/') && /[?&]offset=-1(&|$)/.test(u))).toBe(false)
    const commandsBefore = Number(/\((\d+)\)/.exec((await page.locator('aside h2').first().textContent()) ?? '')?.[1])
    expect(commandsBefore).toBeLessThan(COMMANDS)

    // Each click rewrites xterm from the window before (fetched by offset from the view), to the start.
    for (let clicks = 0; (await page.locator('[data-testid="terminal-load-earlier"]').count()) > 0; clicks++) {
      expect(clicks).toBeLessThan(10)
      const first = (await rows(page))[0]
      await page.click('[data-testid="terminal-load-earlier"]')
      await until(page, 'an earlier window', async () => (await rows(page))[0] !== first)
    }
    const all = await rows(page)
    expect(all[0]).toBe('row 0')
    expect(all.filter((r) => r.startsWith('row ')).length).toBe(COMMANDS * ROWS_PER_COMMAND)
    expect(all.includes(LAST_ROW)).toBe(true)
    expect(requested.filter((u) => u.includes('terminalBefore=')).length).toBeGreaterThan(0)
    await until(page, 'every command listed', async () => (await page.locator('aside h2').first().textContent()) === `Commands (${COMMANDS})`)
    expect(errors).toEqual([])
  }, 120_000)
})
