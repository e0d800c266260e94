/** The agent's tools stay inside the work dir. */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeEach, describe, expect, it } from 'vitest'
import { runTool } from '../../src/worker/tools'

const signal = () => new AbortController().signal

describe('tools', () => {
  let work: string
  let outside: string
  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'tether-tools-'))
    outside = mkdtempSync(join(tmpdir(), 'tether-outside-'))
    writeFileSync(join(outside, 'secret.txt'), 'do not read')
  })

  it('writes, reads and lists files in the work dir', async () => {
    expect(await runTool('write_file', { path: 'a/b.txt', content: 'hi' }, work, signal())).toMatchObject({ ok: true })
    expect(await runTool('read_file', { path: 'a/b.txt' }, work, signal())).toEqual({ ok: true, output: 'hi' })
    expect(await runTool('list_files', { path: '.' }, work, signal())).toEqual({ ok: true, output: 'a/' })
    expect(await runTool('list_files', { path: 'a' }, work, signal())).toEqual({ ok: true, output: 'b.txt' })
  })

  it('refuses paths that leave the work dir, directly or through a symlink', async () => {
    for (const path of ['../x', '/etc/passwd', `${outside}/secret.txt`]) {
      const result = await runTool('read_file', { path }, work, signal())
      expect(result.ok, path).toBe(false)
      expect(result.output).toMatch(/outside the work directory/)
    }
    symlinkSync(outside, join(work, 'link'))
    const viaLink = await runTool('read_file', { path: 'link/secret.txt' }, work, signal())
    expect(viaLink).toMatchObject({ ok: false })
    expect(viaLink.output).toMatch(/outside the work directory/)
    const writeViaLink = await runTool('write_file', { path: 'link/new.txt', content: 'x' }, work, signal())
    expect(writeViaLink.ok).toBe(false)
  })

  it('does not hang on a FIFO planted in the work dir, nor write through one', async () => {
    expect(spawnSync('mkfifo', [join(work, 'pipe')]).status).toBe(0)
    const read = await runTool('read_file', { path: 'pipe' }, work, signal())
    expect(read).toEqual({ ok: false, output: 'pipe is not a file' })
    const write = await runTool('write_file', { path: 'pipe', content: 'x' }, work, signal())
    expect(write.ok).toBe(false)
  })

  it('overwrites an existing file whole, and refuses a dangling link out of the work dir', async () => {
    writeFileSync(join(work, 'f.txt'), 'a much longer first version')
    expect(await runTool('write_file', { path: 'f.txt', content: 'short' }, work, signal())).toMatchObject({ ok: true })
    expect(readFileSync(join(work, 'f.txt'), 'utf8')).toBe('short')
    symlinkSync(join(outside, 'created-through-link.txt'), join(work, 'dangling'))
    const viaDangling = await runTool('write_file', { path: 'dangling', content: 'x' }, work, signal())
    expect(viaDangling.ok).toBe(false)
    expect(() => readFileSync(join(outside, 'created-through-link.txt'))).toThrow()
  })

  it('gives shell commands none of the worker’s environment', async () => {
    process.env.TETHER_TOOLS_TEST_KEY = 'must-not-leak'
    try {
      const result = await runTool('shell', { command: 'env' }, work, signal())
      expect(result.ok).toBe(true)
      expect(result.output).toContain('PATH=')
      expect(result.output).not.toContain('must-not-leak')
    } finally {
      delete process.env.TETHER_TOOLS_TEST_KEY
    }
  })

  it('runs shell commands in the work dir and reports their exit code', async () => {
    mkdirSync(join(work, 'sub'))
    const ok = await runTool('shell', { command: 'pwd; ls' }, work, signal())
    expect(ok).toEqual({ ok: true, exitCode: 0, output: `${work}\nsub\n` })
    const failed = await runTool('shell', { command: 'echo oops >&2; exit 3' }, work, signal())
    expect(failed).toEqual({ ok: false, exitCode: 3, output: 'oops\n' })
  })

  it('kills a shell command when cancelled', async () => {
    const controller = new AbortController()
    const run = runTool('shell', { command: 'sleep 30; echo never' }, work, controller.signal)
    setTimeout(() => controller.abort(), 100)
    const result = await run
    expect(result.ok).toBe(false)
    expect(result.output).not.toContain('never')
  })

  it('rejects unknown tools and bad input', async () => {
    expect(await runTool('rm_rf', {}, work, signal())).toMatchObject({ ok: false, output: 'unknown tool rm_rf' })
    expect(await runTool('shell', { command: '' }, work, signal())).toMatchObject({ ok: false })
  })
})
