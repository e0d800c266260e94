/**
 * Issue #10 "a real terminal", in the browser against the worker's real shell (process runtime,
 * bwrap): keys typed into xterm reach the pty as typed, so vim edits and saves a file and less
 * pages; the first command shows once; xterm shows everyone the pty's size (the last typist's);
 * a viewer's prompt says they are viewing (not that the session ended) while it is live.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, newPage, readStream, terminalText, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

const terminalUrl = (shareUrl: string) => shareUrl.replace(/\/sessions\/([^?]+)/, '/sessions/$1/terminal')

async function run(page: Page, command: string): Promise<void> {
  await page.fill('[data-testid="prompt-input"]', command)
  await page.keyboard.press('Enter')
}

const rows = async (page: Page) => (await terminalText(page)).split('\n')

async function xtermSize(page: Page): Promise<{ cols: number; rows: number }> {
  return page.evaluate(() => {
    const host = document.querySelector('[data-testid="terminal-host"]') as HTMLElement & { xterm: { cols: number; rows: number } }
    return { cols: host.xterm.cols, rows: host.xterm.rows }
  })
}

/** Text of the stream's terminal output, as the worker published it. */
async function streamOutput(token: string, sessionId: string): Promise<string> {
  const events = await readStream(server, token, sessionId)
  return events
    .filter((e) => e.type === 'terminal' && e.value?.kind === 'output')
    .map((e) => String(e.value?.data ?? ''))
    .join('')
}

describe('a real terminal', () => {
  it('shows the first command once, edits a file with vim, pages with less, at the typist’s size for everyone', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Raw terminal')
    const { page } = await newPage(browser, { width: 1366, height: 860 })
    await page.goto(terminalUrl(session.shareUrl))
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    // The first command: once, after the prompt (not also on a bare row above it).
    await run(page, 'echo first-$((40+2))')
    await until(page, 'the first command’s output', async () => (await rows(page)).includes('first-42'))
    expect((await rows(page)).filter((r) => r.includes('echo first-$((40+2))'))).toHaveLength(1)
    expect((await rows(page)).find((r) => r.includes('echo first-$((40+2))'))).toMatch(/\$ echo first-\$\(\(40\+2\)\)/)

    // vim: the command at the prompt, then keys typed into xterm, each sent as typed.
    await run(page, 'vim notes.txt')
    await until(page, 'vim to draw', async () => (await rows(page)).some((r) => r.includes('"notes.txt"')))
    await page.click('[data-testid="terminal-host"]')
    await page.keyboard.press('i')
    await until(page, 'insert mode', async () => (await rows(page)).some((r) => r.includes('-- INSERT --')))
    await page.keyboard.type('typed into vim, key by key')
    await page.keyboard.press('Escape')
    await page.keyboard.type(':wq')
    await page.keyboard.press('Enter')
    // vim's "written" note is on its alternate screen, gone from xterm once vim exits: read the stream.
    await until(page, 'vim to write the file', async () => (await streamOutput(admin, session.id)).includes('written'))
    await until(page, 'the prompt after vim', async () => (await rows(page)).at(-1)?.trim().endsWith('$') === true)
    await run(page, 'cat notes.txt')
    await until(page, 'cat to show the file', async () => (await rows(page)).includes('typed into vim, key by key'))
    expect(await streamOutput(admin, session.id)).toContain('typed into vim, key by key')

    // less: space shows a later screen, q quits and the prompt is back.
    await run(page, 'seq 1 500 | less')
    await until(page, 'less to show the first screen', async () => (await rows(page)).includes('1'))
    expect(await rows(page)).not.toContain('100')
    await page.click('[data-testid="terminal-host"]')
    for (let i = 0; i < 6 && !(await rows(page)).includes('100'); i++) {
      const before = await terminalText(page)
      await page.keyboard.press('Space')
      await until(page, 'less to page', async () => (await terminalText(page)) !== before)
    }
    expect(await rows(page)).toContain('100')
    await page.keyboard.press('q')
    await run(page, 'echo back-at-the-prompt')
    await until(page, 'the shell prompt again', async () => (await rows(page)).includes('back-at-the-prompt'))

    // A second person with a smaller window sees the output at the typist's size.
    const typist = await xtermSize(page)
    const small = await newPage(browser, { width: 800, height: 600 })
    await small.page.goto(terminalUrl(session.shareUrl))
    await small.page.waitForSelector('[data-testid="connection"][data-state="live"]')
    await until(small.page, 'the output', async () => (await rows(small.page)).includes('back-at-the-prompt'))
    expect(await xtermSize(small.page)).toEqual(typist)
    // When they type, the pty (and everyone's xterm) takes their size.
    await run(small.page, 'echo "size=$(stty size)"')
    await until(small.page, 'their command', async () => (await rows(small.page)).some((r) => r.startsWith('size=')))
    const theirs = await xtermSize(small.page)
    expect(theirs.cols).toBeLessThan(typist.cols)
    expect((await rows(small.page)).find((r) => r.startsWith('size='))).toBe(`size=${theirs.rows} ${theirs.cols}`)
    await until(page, 'the typist’s xterm to follow', async () => (await xtermSize(page)).cols === theirs.cols)
  }, 180_000)

  it('tells a viewer they are viewing while the session is live', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Watched terminal')
    const viewer = await server.token('viewer', session.id)
    const { page } = await newPage(browser)
    await page.goto(`${server.url}/sessions/${session.id}/terminal?token=${encodeURIComponent(viewer)}`)
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')
    const prompt = page.locator('[data-testid="prompt-input"]')
    await until(page, 'the read-only prompt', async () => /viewing/i.test((await prompt.getAttribute('placeholder')) ?? ''))
    expect(await prompt.isDisabled()).toBe(true)
    expect(await prompt.getAttribute('placeholder')).not.toMatch(/ended/i)
  }, 60_000)
})
