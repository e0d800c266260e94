/**
 * Bar 3: the server restarts while two pages are open. Both show "reconnecting" (with the next
 * retry time), then resume from the offsets they had applied and catch every event written
 * meanwhile, each exactly once.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  connectionState,
  createSession,
  messageTexts,
  newPage,
  streamAssistantMessage,
  terminalText,
  until,
  setupServerAndBrowser,
  writeEvents,
  type TestServer,
} from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

describe('server restart with two pages open', () => {
  it('shows reconnecting, then resumes from each page’s offset and catches up without duplicates', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Restart me')
    const worker = await server.token('worker', session.id, 'agent-1')
    await streamAssistantMessage(server, worker, session.id, 'before', 'Written before the restart.', 'agent-1')

    const pages: Page[] = []
    for (let i = 0; i < 2; i++) {
      const { page } = await newPage(browser)
      await page.goto(session.shareUrl)
      await page.waitForSelector('[data-testid="connection"][data-state="live"]')
      await until(page, 'the first message', async () =>
        (await messageTexts(page)).some((m) => m.id === 'before' && m.text === 'Written before the restart.'),
      )
      pages.push(page)
    }
    await server.stop()
    for (const page of pages) {
      await until(page, 'reconnecting', async () => (await connectionState(page)) === 'reconnecting')
      await page.locator('[data-testid="next-retry"]').waitFor()
    }
    // With the server down nothing new can arrive: this is where each page has to resume from.
    const offsetsBefore = await Promise.all(pages.map((p) => p.getAttribute('[data-testid="connection"]', 'data-offset')))
    expect(offsetsBefore[0]).toBeTruthy()
    const readsAfter: string[][] = pages.map(() => [])
    pages.forEach((page, i) => {
      page.on('request', (req) => {
        if (req.url().includes(`/api/streams/sessions/${session.id}`))
          readsAfter[i].push(new URL(req.url()).searchParams.get('offset') ?? '')
      })
    })

    await server.restart()
    await server.waitUntilServing()
    // Written while the pages are still away (they come back on their own backoff schedule).
    const answer = 'Everything written while you were away arrives once and in order.'
    await streamAssistantMessage(server, worker, session.id, 'meanwhile', answer, 'agent-1')
    await writeEvents(server, worker, session.id, [
      {
        channel: 'tool-call',
        data: {
          id: 'call-1',
          messageId: 'meanwhile',
          agentId: 'agent-1',
          name: 'run_shell',
          input: { command: 'ls' },
          status: 'succeeded',
          output: 'README.md',
        },
      },
      {
        channel: 'terminal',
        data: { id: 'out-1', kind: 'output', source: 'agent-1', stream: 'stdout', data: 'line-written-during-restart\r\n' },
      },
    ])

    for (const page of pages) {
      await until(page, 'live again', async () => (await connectionState(page)) === 'live')
      await until(page, 'the message written meanwhile', async () =>
        (await messageTexts(page)).some((m) => m.id === 'meanwhile' && m.text === answer),
      )
      await page.locator('[data-testid="tool-call"][data-name="run_shell"][data-status="succeeded"]').waitFor()
      await until(page, 'the terminal line written meanwhile', async () =>
        (await terminalText(page)).includes('line-written-during-restart'),
      )

      const messages = await messageTexts(page)
      expect(messages.map((m) => [m.id, m.text])).toEqual([
        ['before', 'Written before the restart.'],
        ['meanwhile', answer],
      ])
      expect(await page.locator('[data-testid="tool-call"]').count()).toBe(1)
      const rows = (await terminalText(page)).split('\n').filter((r) => r === 'line-written-during-restart')
      expect(rows).toHaveLength(1)
    }

    // Each page resumed from the offset it had applied, never from the start.
    readsAfter.forEach((reads, i) => {
      expect(reads.length).toBeGreaterThan(0)
      expect(reads[0]).toBe(offsetsBefore[i])
      expect(reads).not.toContain('-1')
    })
  }, 180_000)
})
