/**
 * What the session page loads before it is interactive (issue 10, "long sessions stay fast"):
 * the scripts its HTML preloads carry no zod (validation is the server's; the page needs lists of
 * names and its collections' shapes, not a schema library), and the terminal's xterm (330 KB) is
 * not among them: the session page's terminal pane fetches it only once the page has caught up
 * (its conversation comes first; the server-rendered screen shows meanwhile), and draws the output.
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
  it('preloads no zod and no xterm; xterm loads once the page has caught up and draws the output', async () => {
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
      // The xterm module was asked for after the live read's up-to-date, not while the page started.
      const order = await page.evaluate(() => {
        const upToDate = performance.getEntriesByName('tether:up-to-date')[0]?.startTime
        const xterm = (performance.getEntriesByType('resource') as PerformanceResourceTiming[]).find((r) => /\/xterm-[^/]+\.js$/.test(r.name))
        return { upToDate, xtermRequested: xterm?.startTime }
      })
      expect(order.upToDate).toBeTypeOf('number')
      expect(order.xtermRequested).toBeTypeOf('number')
      expect(order.xtermRequested as number).toBeGreaterThan(order.upToDate as number)
      expect(errors).toEqual([])
    } finally {
      await context.close()
    }
  })

  it('draws the terminal after xterm failed to load once (a server restarting, a network blip)', async () => {
    const admin = await server.token('admin', undefined, 'admin-user')
    const { id } = await createSession(server, admin, 'Flaky network')
    await writeEvents(server, admin, id, [
      { channel: 'terminal', data: { kind: 'output', source: 'agent-test', stream: 'stdout', data: 'AFTER-A-FAILED-LOAD\r\n' } },
    ])
    const { context, page } = await newPage(browser)
    try {
      let failed = 0
      await page.route(/\/xterm-[^/]+\.js$/, async (route) => {
        if (failed++ === 0) return route.abort('connectionrefused')
        return route.continue()
      })
      await page.goto(`${server.url}/sessions/${id}?token=${admin}`)
      await until(page, 'xterm drew the output', async () =>
        page.evaluate(() => {
          const host = document.querySelector('[data-testid="terminal-host"]') as (Element & { xterm?: unknown }) | null
          return !!host?.xterm && !!host.textContent?.includes('AFTER-A-FAILED-LOAD')
        }),
      )
      expect(failed).toBeGreaterThanOrEqual(2)
    } finally {
      await context.close()
    }
  })
})
