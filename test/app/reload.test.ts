/**
 * Bar 2: reloading mid-stream. The page comes back showing the same conversation and terminal,
 * with no message, word or terminal line missing or doubled, resumes reading at the offset it
 * had applied (its snapshot in IndexedDB), and the shared command history survives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { FakeShell } from './fake-shell'
import { createSession, launchBrowser, messageTexts, newPage, startServer, streamAssistantMessage, terminalText, until, type TestServer } from './support'

let server: TestServer
let browser: Browser

beforeAll(async () => {
  server = await startServer()
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  await server?.dispose()
})

/** The offset of the snapshot this page keeps for the session (what a reload resumes from). */
async function cachedOffset(page: Page, sessionId: string): Promise<string | undefined> {
  return page.evaluate(
    (id) =>
      new Promise<string | undefined>((resolve) => {
        const open = indexedDB.open('tether-stream-cache', 1)
        open.onerror = () => resolve(undefined)
        open.onsuccess = () => {
          const db = open.result
          if (!db.objectStoreNames.contains('snapshots')) return resolve(undefined)
          const get = db.transaction('snapshots').objectStore('snapshots').get(new URL(`/api/streams/sessions/${id}`, location.origin).toString())
          get.onsuccess = () => resolve((get.result as { offset?: string } | undefined)?.offset)
          get.onerror = () => resolve(undefined)
        }
      }),
    sessionId,
  )
}

describe('reload mid-stream', () => {
  it('comes back at the same place without duplicates or gaps, resumes from its offset, and keeps command history', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Reload me')
    const worker = await server.token('worker', session.id, 'agent-1')
    const shell = new FakeShell(server, worker, session.id, 'agent-1')
    shell.start()
    const { page } = await newPage(browser)
    try {
      await page.goto(session.shareUrl)
      await page.waitForSelector('[data-testid="connection"][data-state="live"]')

      // Some conversation and two terminal commands.
      await page.fill('[data-testid="composer"]', 'Please summarise the build log.')
      await page.keyboard.press('Enter')
      for (const command of ['echo first-command', 'echo second-command']) {
        await page.fill('[data-testid="prompt-input"]', command)
        await page.keyboard.press('Enter')
        await until(page, `output of ${command}`, async () => (await terminalText(page)).includes(`${command.slice(5)}\n$`))
      }

      // The agent is half-way through its answer when the page reloads.
      const answer = Array.from({ length: 24 }, (_, i) => `word${i}`).join(' ')
      await streamAssistantMessage(server, worker, session.id, 'answer-1', answer, 'agent-1', 0, 12)
      const half = answer.split(' ').slice(0, 12).join(' ')
      await until(page, 'half of the answer', async () => (await messageTexts(page)).some((m) => m.id === 'answer-1' && m.text === half))
      const applied = await page.getAttribute('[data-testid="connection"]', 'data-offset')
      expect(applied).toBeTruthy()
      await until(page, 'the snapshot to be saved at the applied offset', async () => (await cachedOffset(page, session.id)) === applied)

      const streamReads: string[] = []
      page.on('request', (req) => {
        if (req.url().includes(`/api/streams/sessions/${session.id}`)) streamReads.push(new URL(req.url()).searchParams.get('offset') ?? '')
      })
      await page.reload()
      // The rest of the answer arrives while (and after) the page reloads.
      const rest = streamAssistantMessage(server, worker, session.id, 'answer-1', answer, 'agent-1', 12)
      await page.waitForSelector('[data-testid="connection"][data-state="live"]')
      await rest

      // Same place: the full conversation, each message once, each word once.
      await until(page, 'the whole answer after reload', async () => (await messageTexts(page)).some((m) => m.id === 'answer-1' && m.text === answer))
      const messages = await messageTexts(page)
      expect(messages.map((m) => [m.role, m.text])).toEqual([
        ['user', 'Please summarise the build log.'],
        ['assistant', answer],
      ])
      // It read the network from where it was, not from the start.
      expect(streamReads.length).toBeGreaterThan(0)
      expect(streamReads[0]).toBe(applied)
      expect(streamReads).not.toContain('-1')

      // The terminal shows each command's output exactly once.
      await until(page, 'terminal redrawn', async () => (await terminalText(page)).includes('second-command\n$'))
      const rows = (await terminalText(page)).split('\n')
      for (const word of ['first-command', 'second-command']) {
        expect(rows.filter((r) => r.includes(`echo ${word}`)), rows.join("\n")).toHaveLength(1) // the shell's echo of the command
        expect(rows.filter((r) => r === word)).toHaveLength(1) // its output
      }

      // Command history survived the reload: ↑ brings back the last command, then the one before.
      const prompt = page.locator('[data-testid="prompt-input"]')
      await prompt.focus()
      await page.keyboard.press('ArrowUp')
      expect(await prompt.inputValue()).toBe('echo second-command')
      await page.keyboard.press('ArrowUp')
      expect(await prompt.inputValue()).toBe('echo first-command')
      await page.keyboard.press('ArrowDown')
      await page.keyboard.press('ArrowDown')
      expect(await prompt.inputValue()).toBe('')
      // Ctrl-R finds a command by a fragment, Enter runs it again.
      await page.keyboard.press('Control+r')
      await page.keyboard.type('first')
      await page.locator('[data-testid="history-search"] li[aria-selected="true"]', { hasText: 'echo first-command' }).waitFor()
      await page.keyboard.press('Enter')
      await until(page, 'the re-run command', async () => (await terminalText(page)).split('\n').filter((r) => r === 'first-command').length === 2)
    } finally {
      shell.stop()
    }
  }, 180_000)
})
