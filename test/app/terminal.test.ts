/**
 * The terminal view against the worker's real shell: colours reach xterm.js as colours, the shell
 * gets this terminal's size, and an interactive program reads keys typed straight into the
 * terminal until Ctrl-C stops it. Each command's output is listed under it.
 */
import { describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { createSession, newPage, terminalText, until, setupServerAndBrowser, type TestServer } from './support'

let server: TestServer
let browser: Browser

setupServerAndBrowser((started, launched) => {
  server = started
  browser = launched
})

async function run(page: Page, command: string): Promise<void> {
  await page.fill('[data-testid="prompt-input"]', command)
  await page.keyboard.press('Enter')
}

/** Foreground palette colour of the first cell of the first row whose text is `text`. */
async function paletteColourOf(page: Page, text: string): Promise<number | null> {
  return page.evaluate((wanted) => {
    type Cell = { isFgPalette(): boolean; getFgColor(): number }
    type Line = { translateToString(trim: boolean): string; getCell(x: number): Cell | undefined }
    const host = document.querySelector('[data-testid="terminal-host"]') as HTMLElement & {
      xterm: { buffer: { active: { length: number; getLine(i: number): Line | undefined } } }
    }
    const buffer = host.xterm.buffer.active
    for (let i = 0; i < buffer.length; i++) {
      const line = buffer.getLine(i)
      if (line?.translateToString(true) === wanted) {
        const cell = line.getCell(0)
        return cell?.isFgPalette() ? cell.getFgColor() : null
      }
    }
    return null
  }, text)
}

describe('terminal view', () => {
  it('shows colours, gives the shell its size, and drives an interactive program', async () => {
    const admin = await server.token('admin')
    const session = await createSession(server, admin, 'Terminal')
    const { page } = await newPage(browser)
    await page.goto(`${session.shareUrl.replace(/\/sessions\/([^?]+)/, '/sessions/$1/terminal')}`)
    await page.waitForSelector('[data-testid="connection"][data-state="live"]')

    // Colours: red (palette 1) and green (palette 2) text from the shell.
    await run(page, 'printf "\\033[31mred-text\\033[0m\\n\\033[32mgreen-text\\033[0m\\n"')
    await until(page, 'coloured output', async () => (await terminalText(page)).split('\n').includes('green-text'))
    expect(await paletteColourOf(page, 'red-text')).toBe(1)
    expect(await paletteColourOf(page, 'green-text')).toBe(2)

    // The shell was told this terminal's width before the first command.
    const cols = await page.evaluate(
      () => (document.querySelector('[data-testid="terminal-host"]') as HTMLElement & { xterm: { cols: number } }).xterm.cols,
    )
    await run(page, 'echo "cols=$(tput cols)"')
    await until(page, 'the width the shell sees', async () => (await terminalText(page)).split('\n').includes(`cols=${cols}`))

    // An interactive program: `cat` echoes what is typed into the terminal, Ctrl-C ends it.
    await run(page, 'cat')
    await page.locator('[data-testid="command-block"]', { hasText: 'cat' }).waitFor()
    await page.click('[data-testid="terminal-host"]')
    await page.keyboard.type('ping-pong')
    await page.keyboard.press('Enter')
    // cat prints the line back on a row of its own (the tty may echo it too, when cat was already
    // waiting as it arrived); had the shell read it, it would sit after a prompt instead.
    await until(page, 'cat to answer', async () => (await terminalText(page)).split('\n').some((r) => r.trim() === 'ping-pong'))
    await page.keyboard.press('Control+c')
    await run(page, 'echo after-cat')
    await until(page, 'the shell back at its prompt', async () => (await terminalText(page)).split('\n').includes('after-cat'))

    // The command list groups output under each command.
    const blocks = page.locator('[data-testid="command-block"]')
    const cat = blocks.filter({ hasText: /^\s*●\s*cat/ })
    await cat.first().locator('summary').click()
    expect(await cat.first().locator('pre').textContent()).toContain('ping-pong')
    const after = blocks.filter({ hasText: 'echo after-cat' })
    await after.locator('summary').click()
    expect(await after.locator('pre').textContent()).toContain('after-cat')
  }, 120_000)
})
