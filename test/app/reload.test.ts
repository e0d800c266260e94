/**
 * Bar 2: reloading mid-stream. The page comes back showing the same conversation and terminal,
 * with no message, word or terminal line missing or doubled, resumes reading at the offset it
 * had applied (its snapshot in IndexedDB), and the shared command history survives.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, messageTexts, newPage, terminalText, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
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
          const get = db
            .transaction('snapshots')
            .objectStore('snapshots')
            .get(new URL(`/api/streams/sessions/${id}`, location.origin).toString())
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
    const { page } = await newPage(browser)
    await page.goto(session.shareUrl)
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    // Two commands in the worker's shell.
    for (const [command, output] of [
      ['echo first-$((1+1))', 'first-2'],
      ['echo second-$((2+2))', 'second-4'],
    ]) {
      await page.fill('[data-testid="prompt-input"]', command)
      await page.keyboard.press('Enter')
      await until(page, `output of ${command}`, async () => (await terminalText(page)).split('\n').includes(output))
    }

    // A long answer streams slowly (40 ms a word); the page reloads while it is coming in.
    const ask = '/slow /count 150'
    const answer = Array.from({ length: 150 }, (_, i) => String(i + 1)).join(' ')
    await page.fill('[data-testid="composer"]', ask)
    await page.keyboard.press('Enter')
    await until(page, 'the answer to be under way', async () =>
      (await messageTexts(page)).some((m) => m.role === 'assistant' && m.text.split(' ').length >= 10),
    )
    await until(page, 'a snapshot in the cache', async () => (await cachedOffset(page, session.id)) !== undefined)
    const cachedBefore = (await cachedOffset(page, session.id)) ?? ''
    const streamReads: string[] = []
    page.on('request', (req) => {
      if (req.url().includes(`/api/streams/sessions/${session.id}`)) streamReads.push(new URL(req.url()).searchParams.get('offset') ?? '')
    })
    await page.reload()
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    // Same place: the whole conversation, each message once, every word once and in order.
    await until(page, 'the whole answer after reload', async () =>
      (await messageTexts(page)).some((m) => m.role === 'assistant' && m.text === answer),
    )
    expect((await messageTexts(page)).map((m) => [m.role, m.text])).toEqual([
      ['user', ask],
      ['assistant', answer],
    ])
    // It read the network from where it had got to (its snapshot), not from the start.
    expect(streamReads.length).toBeGreaterThan(0)
    expect(streamReads[0] >= cachedBefore).toBe(true)
    expect(streamReads).not.toContain('-1')

    // The terminal shows each command and its output exactly once.
    const rows = (await terminalText(page)).split('\n')
    expect(rows.filter((r) => r === 'first-2')).toHaveLength(1)
    expect(rows.filter((r) => r === 'second-4')).toHaveLength(1)
    expect(rows.filter((r) => r.includes('# echo first-$((1+1))') || r.includes('$ echo first-$((1+1))'))).toHaveLength(1)

    // Command history survived the reload: ↑ brings back the last command, then the one before.
    const prompt = page.locator('[data-testid="prompt-input"]')
    await prompt.focus()
    await page.keyboard.press('ArrowUp')
    expect(await prompt.inputValue()).toBe('echo second-$((2+2))')
    await page.keyboard.press('ArrowUp')
    expect(await prompt.inputValue()).toBe('echo first-$((1+1))')
    await page.keyboard.press('ArrowDown')
    await page.keyboard.press('ArrowDown')
    expect(await prompt.inputValue()).toBe('')
    // Ctrl-R finds a command by a fragment; Enter runs it again.
    await page.keyboard.press('Control+r')
    await page.keyboard.type('first')
    await page.locator('[data-testid="history-search"] li[aria-selected="true"]', { hasText: 'echo first-$((1+1))' }).waitFor()
    await page.keyboard.press('Enter')
    await until(page, 'the re-run command', async () => (await terminalText(page)).split('\n').filter((r) => r === 'first-2').length === 2)
  }, 180_000)
})
