/**
 * The worker's terminal with the real bwrap sandbox and a real pty: prompt lines get Enter, raw
 * keys go to the pty exactly as typed, the first command is echoed once (after the prompt), and
 * full-screen programs (vim, less, top) run inside the sandbox at the size the stream asked for.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { Publisher } from '../../src/worker/publisher'
import { Sandbox } from '../../src/worker/sandbox'
import { Terminal, toPtyInput } from '../../src/worker/terminal'

interface Published {
  kind: string
  data?: string
  exitCode?: number
  commandId: string
}

let work: string
let terminal: Terminal | undefined
let lines: Published[] = []

const text = () => lines.map((l) => l.data ?? '').join('')
// eslint-disable-next-line no-control-regex -- removes the escape sequences a screen is drawn with
const plain = () => text().replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Z]|\x1b[=>78]|\x1b\][^\x07]*\x07/g, '')

async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 50))
  if (!ok()) throw new Error(`timed out waiting for ${what}; output so far:\n${JSON.stringify(text())}`)
}

/** Waits for the shell's prompt after everything output so far (a program has exited). */
async function promptAfter(mark: number, what: string): Promise<void> {
  await until(what, () => /\$ $/.test(text().slice(mark)))
}

function start(size?: { cols: number; rows: number }): Terminal {
  lines = []
  const publisher = { publish: (_c: string, value: Published) => lines.push(value) } as unknown as Publisher
  terminal = new Terminal({
    publisher,
    agentId: 'agent',
    workDir: work,
    outputCounts: new Map(),
    initialSize: size ?? null,
    sandbox: new Sandbox({ mode: { kind: 'bwrap' } }),
  })
  return terminal
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tether-terminal-test-'))
})
afterEach(() => terminal?.close())
// The last pty's shell may still be writing (vim swap files, history) as it exits: retry the removal.
// A pty's shell may still be writing into the work dir as it exits (ENOTEMPTY seen under load
// even with retries): a temp dir left behind is not a test failure.
afterAll(() => {
  try {
    rmSync(work, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
  } catch (err) {
    console.warn(`could not remove ${work}: ${(err as Error).message}`)
  }
})

describe('toPtyInput', () => {
  it('adds Enter to a prompt line, passes raw keys and old control-carrying input as typed', () => {
    expect(toPtyInput('ls -la')).toBe('ls -la\r')
    expect(toPtyInput('i', true)).toBe('i')
    expect(toPtyInput('hello world', true)).toBe('hello world')
    // Stored streams from before `raw`: control characters meant keys.
    expect(toPtyInput('q\x1b')).toBe('q\x1b')
    expect(toPtyInput(':wq\r')).toBe(':wq\r')
  })
})

describe('terminal in the bwrap sandbox', () => {
  it('echoes the first command once, after the prompt', async () => {
    const t = start()
    await t.input('c1', 'echo first-$((20+1))')
    await until('the first command to finish', () => text().includes('first-21'))
    expect(plain().split('echo first-$((20+1))').length - 1).toBe(1)
    // The command sits on the prompt's row, not on a bare row of its own before it.
    expect(plain()).toMatch(/\$ echo first-\$\(\(20\+1\)\)\r\n/)
  })

  it('writes raw keys without Enter: a partial line waits until Enter is typed', async () => {
    const t = start()
    await t.input('c1', 'echo ready')
    await until('the shell', () => text().includes('ready\r\n'))
    await t.input('k1', 'echo ra', true)
    await t.input('k2', 'w-$((3+4))', true)
    await until('the echo of the typed keys', () => plain().includes('echo raw-$((3+4))'))
    expect(text()).not.toContain('raw-7')
    await t.input('k3', '\r', true)
    await until('the command to run', () => text().includes('raw-7'))
  })

  it('has TERM, a sane tty at the asked size, and runs vim, less and top', async () => {
    const t = start({ cols: 100, rows: 30 })
    await t.input('c1', 'echo "$TERM $(stty size) $(stty -a | grep -o -- "-\\?icanon" | head -1)"')
    await until('stty', () => text().includes('xterm-256color 30 100 icanon'))
    t.resize(90, 25)
    await t.input('c2', 'stty size')
    await until('the new size', () => text().includes('25 90'))

    // vim: insert text, Esc, :wq, each key as typed.
    await t.input('c3', 'vim -u NONE -N notes.txt')
    await until('vim to draw', () => plain().includes('notes.txt'))
    let mark = text().length
    for (const key of ['i', 'typed in vim', '\x1b', ':wq', '\r']) await t.input(`v-${key}`, key, true)
    // Keys typed ahead while a program runs are its to read (vim drops them on exit): wait.
    await promptAfter(mark, 'vim to exit')
    await t.input('c4', 'echo vim-exit=$?')
    await until('vim to exit', () => text().includes('vim-exit=0'))
    expect(readFileSync(join(work, 'notes.txt'), 'utf8')).toBe('typed in vim\n')

    // less pages with space and quits with q.
    await t.input('c5', 'seq 1 500 | less')
    await until('less to show the first screen', () => plain().includes('\n24'))
    expect(plain()).not.toContain('\n40\r')
    await t.input('l1', ' ', true)
    await until('the next screen', () => plain().includes('\n40\r'))
    mark = text().length
    await t.input('l2', 'q', true)
    await promptAfter(mark, 'less to exit')
    await t.input('c6', 'echo less-exit=$?')
    await until('less to exit', () => text().includes('less-exit=0'))

    // top draws its header, q quits.
    await t.input('c7', 'top -d 5')
    await until('top to draw', () => /Tasks:|load average/.test(plain()))
    mark = text().length
    await t.input('t1', 'q', true)
    await promptAfter(mark, 'top to exit')
    await t.input('c8', 'echo top-exit=$?')
    await until('top to exit', () => text().includes('top-exit=0'))
  }, 60_000)
})
