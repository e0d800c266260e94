/**
 * The command sandbox with the real bwrap: what a command run by the shell tool or typed into the
 * terminal can see and reach. The test process carries a fake worker token and provider key in
 * its environment, as the worker does; a fake data dir with a secret sits outside the work dir.
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Sandbox, SandboxUnavailableError, parseSandboxMode, type SpawnSpec } from '../../src/worker/sandbox'
import { EXIT_CANNOT_RUN, Terminal } from '../../src/worker/terminal'
import type { Publisher } from '../../src/worker/publisher'
import { runTool } from '../../src/worker/tools'

const FAKE_TOKEN = 'eyJfake-worker-token-for-the-sandbox-unit-test.c2VjcmV0.sig'
const FAKE_KEY = 'sk-ant-fake-key-for-the-sandbox-unit-test-0123456789'
const SECRET = 'signing-secret-bytes-0f1e2d3c4b5a'
const isRoot = process.getuid?.() === 0

interface Run {
  code: number | null
  output: string
}

function run(spec: SpawnSpec): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, output }))
  })
}

const bash = async (sandbox: Sandbox, workDir: string, command: string) => run(await sandbox.command(['bash', '-c', command], { workDir }))

let root: string
let work: string
let otherWork: string
let dataDir: string
let listener: Server
let listenerPort = 0
let listenerHits = 0
const saved = { token: process.env.TETHER_WORKER_TOKEN, key: process.env.ANTHROPIC_API_KEY }
const bwrap = new Sandbox({ mode: { kind: 'bwrap' } })

beforeAll(async () => {
  process.env.TETHER_WORKER_TOKEN = FAKE_TOKEN
  process.env.ANTHROPIC_API_KEY = FAKE_KEY
  root = mkdtempSync(join(tmpdir(), 'tether-sandbox-test-'))
  dataDir = mkdtempSync(join(tmpdir(), 'tether-sandbox-data-'))
  writeFileSync(join(dataDir, 'secret'), SECRET, { mode: 0o600 })
  work = join(root, 'w_one')
  otherWork = join(root, 'w_two')
  for (const dir of [work, otherWork]) spawnSync('mkdir', ['-p', dir])
  writeFileSync(join(otherWork, 'notes.txt'), 'the other session')
  listener = createServer((s) => {
    listenerHits++
    s.end('host-service\n')
  })
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r))
  listenerPort = (listener.address() as { port: number }).port
})

afterAll(() => {
  listener?.close()
  if (saved.token === undefined) delete process.env.TETHER_WORKER_TOKEN
  else process.env.TETHER_WORKER_TOKEN = saved.token
  if (saved.key === undefined) delete process.env.ANTHROPIC_API_KEY
  else process.env.ANTHROPIC_API_KEY = saved.key
  rmSync(root, { recursive: true, force: true })
  rmSync(dataDir, { recursive: true, force: true })
})

describe('TETHER_SANDBOX', () => {
  it('parses bwrap (the default), setuid:<uid>:<gid> and off, and names the accepted forms otherwise', () => {
    expect(parseSandboxMode(undefined)).toEqual({ kind: 'bwrap' })
    expect(parseSandboxMode('bwrap')).toEqual({ kind: 'bwrap' })
    expect(parseSandboxMode('off')).toEqual({ kind: 'off' })
    expect(parseSandboxMode('setuid:1000:1001')).toEqual({ kind: 'setuid', uid: 1000, gid: 1001 })
    expect(() => parseSandboxMode('setuid:0:0')).toThrow(/non-root/)
    expect(() => parseSandboxMode('docker')).toThrow(/bwrap, setuid:<uid>:<gid> or off/)
  })
})

describe('bwrap sandbox', () => {
  it('runs a command in the work dir as uid 1000, and writes there', async () => {
    const result = await bash(bwrap, work, 'echo ok; id -u; pwd; echo written > out.txt')
    expect(result).toEqual({ code: 0, output: `ok\n1000\n${work}\n` })
    expect(readFileSync(join(work, 'out.txt'), 'utf8')).toBe('written\n')
  })

  it('cannot read the data dir, the secret, another work dir or the host home', async () => {
    const result = await bash(
      bwrap,
      work,
      `cat ${dataDir}/secret; ls ${dataDir}; ls ${otherWork}; cat ${otherWork}/*; ls /root /work /home; echo done`,
    )
    expect(result.output).toContain('done')
    expect(result.output).not.toContain(SECRET)
    expect(result.output).not.toContain('the other session')
    expect(result.output).not.toContain('notes.txt')
    expect(result.output).toMatch(/No such file or directory/)
  })

  it('shows no secret of the parent in env, /proc/1/environ, /proc/*/environ or $PPID', async () => {
    const result = await bash(
      bwrap,
      work,
      'env; cat /proc/1/environ; cat /proc/*/environ; cat /proc/$PPID/environ; cat /etc/shadow; echo; echo end',
    )
    expect(result.output).toContain('end')
    expect(result.output).toContain('PATH=')
    for (const leaked of [FAKE_TOKEN, FAKE_KEY, 'TETHER_WORKER_TOKEN', 'ANTHROPIC_API_KEY', 'root:'])
      expect(result.output).not.toContain(leaked)
  })

  it('cannot connect to a service on the host loopback', async () => {
    const result = await bash(bwrap, work, `(exec 3<>/dev/tcp/127.0.0.1/${listenerPort} && cat <&3); echo tcp-exit=$?`)
    expect(result.output).toMatch(/tcp-exit=[1-9]/)
    expect(result.output).not.toContain('host-service')
    expect(listenerHits).toBe(0)
  })

  it('the shell tool runs there too, and a cancel kills the sandboxed process', async () => {
    const ok = await runTool('shell', { command: 'echo $HOME; env | grep -c TETHER_ || true' }, work, new AbortController().signal, bwrap)
    expect(ok).toEqual({ ok: true, exitCode: 0, output: `${work}\n0\n` })
    const controller = new AbortController()
    const marker = `sleep 97.${process.pid}`
    const pending = runTool('shell', { command: `${marker}; echo never` }, work, controller.signal, bwrap)
    await new Promise((r) => setTimeout(r, 300))
    controller.abort()
    const cancelled = await pending
    expect(cancelled.ok).toBe(false)
    expect(cancelled.output).not.toContain('never')
    await new Promise((r) => setTimeout(r, 200))
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout
    expect(ps.split('\n').filter((l) => l.startsWith(marker))).toEqual([])
  })

  it('the terminal runs bash under a pty in the sandbox', async () => {
    const lines: Array<{ kind: string; data?: string }> = []
    const publisher = { publish: (_channel: string, value: { kind: string; data?: string }) => lines.push(value) } as unknown as Publisher
    const terminal = new Terminal({ publisher, agentId: 'agent', workDir: work, outputCounts: new Map(), sandbox: bwrap })
    try {
      await terminal.input('c1', 'echo "$(id -u)-$((40+2))"; cat /proc/1/environ; echo end-$((1+1))')
      const deadline = Date.now() + 10_000
      const text = () => lines.map((l) => l.data ?? '').join('')
      while (!text().includes('end-2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
      expect(text()).toContain('1000-42')
      expect(text()).toContain('tether@sandbox')
      expect(text()).not.toContain(FAKE_TOKEN)
      expect(text()).not.toContain(FAKE_KEY)
    } finally {
      terminal.close()
    }
  })
})

describe('when bwrap cannot run', () => {
  const missing = new Sandbox({ mode: { kind: 'bwrap' }, bwrapPath: '/nonexistent/bwrap' })

  it('refuses commands with the fix, as a failed tool result; the file tools keep working', async () => {
    await expect(missing.command(['bash', '-c', 'true'], { workDir: work })).rejects.toThrow(SandboxUnavailableError)
    const shell = await runTool('shell', { command: 'echo hi' }, work, new AbortController().signal, missing)
    expect(shell.ok).toBe(false)
    expect(shell.output).toMatch(/not found.*apt-get install bubblewrap.*TETHER_SANDBOX=off/)
    expect(await runTool('write_file', { path: 'f.txt', content: 'still' }, work, new AbortController().signal, missing)).toMatchObject({
      ok: true,
    })
    expect(await runTool('read_file', { path: 'f.txt' }, work, new AbortController().signal, missing)).toEqual({
      ok: true,
      output: 'still',
    })
  })

  it('answers terminal input with the fix and an exit line, starting no shell', async () => {
    const lines: Array<{ kind: string; data?: string; exitCode?: number; commandId: string }> = []
    const publisher = { publish: (_c: string, value: (typeof lines)[number]) => lines.push(value) } as unknown as Publisher
    const terminal = new Terminal({ publisher, agentId: 'agent', workDir: work, outputCounts: new Map(), sandbox: missing })
    await terminal.input('c1', 'ls')
    terminal.close()
    expect(lines.map((l) => l.kind)).toEqual(['output', 'exit'])
    expect(lines[0]!.data).toMatch(/apt-get install bubblewrap/)
    expect(lines[1]).toMatchObject({ kind: 'exit', exitCode: EXIT_CANNOT_RUN, commandId: 'c1' })
  })
})

describe('setuid sandbox', () => {
  it.skipIf(!isRoot)('drops to the uid with a clean env; a root-only file is unreadable; the work dir is handed over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tether-setuid-'))
    chmodSync(dir, 0o755)
    const rootOnly = join(dataDir, 'root-only')
    writeFileSync(rootOnly, SECRET, { mode: 0o600 })
    chmodSync(dataDir, 0o755)
    const sandbox = new Sandbox({ mode: { kind: 'setuid', uid: 1000, gid: 1000 } })
    const result = await bash(sandbox, dir, `id -u; id -g; cat ${rootOnly}; env; echo made > mine.txt && echo wrote`)
    expect(result.output).toMatch(/^1000\n1000\n/)
    expect(result.output).toContain('Permission denied')
    expect(result.output).toContain('wrote')
    for (const leaked of [SECRET, FAKE_TOKEN, FAKE_KEY]) expect(result.output).not.toContain(leaked)
    expect(statSync(dir).uid).toBe(1000)
    // A file the worker writes (as root) for the agent is handed over too.
    expect(
      await runTool('write_file', { path: 'sub/by-agent.txt', content: 'x' }, dir, new AbortController().signal, sandbox),
    ).toMatchObject({ ok: true })
    expect(statSync(join(dir, 'sub')).uid).toBe(1000)
    expect(statSync(join(dir, 'sub/by-agent.txt')).uid).toBe(1000)
    rmSync(dir, { recursive: true, force: true })
  })
})

describe('off', () => {
  it('runs unsandboxed but still with a clean environment', async () => {
    const result = await bash(new Sandbox({ mode: { kind: 'off' } }), work, 'env; echo ok')
    expect(result.code).toBe(0)
    expect(result.output).toContain('ok')
    for (const leaked of [FAKE_TOKEN, FAKE_KEY]) expect(result.output).not.toContain(leaked)
  })
})

describe('overhead', () => {
  it('prints what bwrap adds to a worker’s first shell command', async () => {
    const signal = new AbortController().signal
    const time = async (sandbox: Sandbox) => {
      const t0 = performance.now()
      const result = await runTool('shell', { command: 'true' }, work, signal, sandbox)
      expect(result.ok).toBe(true)
      return performance.now() - t0
    }
    const samples: Array<{ first: number; next: number; off: number }> = []
    for (let i = 0; i < 7; i++) {
      const fresh = new Sandbox({ mode: { kind: 'bwrap' } }) // first command: includes the probe
      const off = new Sandbox({ mode: { kind: 'off' } })
      samples.push({ off: await time(off), first: await time(fresh), next: await time(fresh) })
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const off = median(samples.map((s) => s.off))
    const first = median(samples.map((s) => s.first))
    const next = median(samples.map((s) => s.next))
    console.log(
      `sandbox overhead (median of 7, bash -c true): off ${off.toFixed(1)} ms; bwrap first command (probe + run) ${first.toFixed(1)} ms (+${(first - off).toFixed(1)}); bwrap later ${next.toFixed(1)} ms (+${(next - off).toFixed(1)})`,
    )
    expect(existsSync(work)).toBe(true)
  })
})
