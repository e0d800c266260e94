/**
 * What the session page loads before it is interactive (issue 10, "long sessions stay fast"):
 * the scripts its HTML preloads carry no zod (validation is the server's; the page needs lists of
 * names and its collections' shapes, not a schema library), and the terminal's xterm (330 KB) is
 * not among them: it is fetched by the terminal pane once mounted, and draws the session's output.
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

/** zod's own name for its base type: in every bundle that holds zod, whatever the minifier does. */
const ZOD_MARK = '$ZodType'

describe('the session page at startup', () => {
  it('preloads no zod and no xterm; xterm loads with the terminal pane and draws the output', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const { id } = await createSession(server, admin, 'Startup session')
    await writeEvents(server, admin, id, [
      { channel: 'chunk', data: { messageId: 'm1', role: 'user', author: 'admin-user', turn: 1, seq: 0, delta: 'hello there', done: true } },
      { channel: 'terminal', data: { kind: 'output', source: 'agent-test', stream: 'stdout', data: 'STARTUP-TERMINAL-LINE\r\n' } },
    ])

    const html = await (await fetch(`${server.url}/sessions/${id}?token=${admin}`)).text()
    const preloads = [...html.matchAll(/<link rel="modulepreload" href="([^"]+)"/g)].map((m) => m[1])
    expect(preloads.length).toBeGreaterThan(2)
    expect(preloads.some((p) => /\/index-[^/]+\.js$/.test(p))).toBe(true)
    expect(preloads.filter((p) => p.includes('xterm'))).toEqual([])
    // None of them (the entry, the route, the streams client) carries zod.
    for (const script of preloads) {
      const text = await (await fetch(`${server.url}${script}`)).text()
      expect(text.length, script).toBeGreaterThan(100)
      expect(text.includes(ZOD_MARK), script).toBe(false)
    }

    const { context, page, errors } = await newPage(browser)
    try {
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`)
      await page.waitForSelector('[data-message-id="m1"] [data-testid="message-text"]')
      await until(page, 'xterm drew the output', async () =>
        page.evaluate(() => {
          const host = document.querySelector('[data-testid="terminal-host"]') as (Element & { xterm?: unknown }) | null
          return !!host?.xterm && !!host.textContent?.includes('STARTUP-TERMINAL-LINE')
        }),
      )
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })
})
