/**
 * The claude-agent-sdk adapter with the real Claude Code binary (the one the SDK ships) against a
 * scripted Anthropic endpoint on loopback: text streams as deltas, Claude Code's own Bash runs in
 * the work dir as the sandbox's user, nothing secret reaches it, the SDK session carries over
 * between turns, a resumed turn gets the history, Stop aborts the run and leaves no process, and
 * bwrap mode refuses with the reason. The test process carries a fake worker token and provider
 * key in its environment, as a worker does.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BWRAP_REFUSAL, ClaudeAgentSdkAdapter, DUMMY_API_KEY } from '../../../src/worker/adapters/claude-agent-sdk'
import type { AdapterContext, TurnSink } from '../../../src/worker/adapters/types'
import { Sandbox, type SandboxMode } from '../../../src/worker/sandbox'
import { type ScriptedAnthropic, startScriptedAnthropic } from './claude-scripted-anthropic'

const FAKE_TOKEN = 'eyJfake-worker-token-claude-adapter-test.c2VjcmV0.sig'
const FAKE_KEY = 'sk-ant-real-looking-provider-key-claude-adapter-test'

type Report =
  | { kind: 'text'; delta: string }
  | { kind: 'toolStart'; key: string; name: string; input: unknown }
  | { kind: 'toolEnd'; key: string; ok: boolean; output?: unknown; error?: string }
  | { kind: 'usage'; inputTokens: number; outputTokens: number; costUsd?: number }
  | { kind: 'status'; step: string }

function recordingSink(onText?: (delta: string) => void): { sink: TurnSink; reports: Report[] } {
  const reports: Report[] = []
  return {
    reports,
    sink: {
      text: (delta) => {
        reports.push({ kind: 'text', delta })
        onText?.(delta)
      },
      toolStart: (call) => reports.push({ kind: 'toolStart', ...call }),
      toolEnd: (key, result) => reports.push({ kind: 'toolEnd', key, ...result }),
      usage: (usage) => reports.push({ kind: 'usage', ...usage }),
      status: (step) => reports.push({ kind: 'status', step }),
    },
  }
}

const textOf = (reports: Report[]) =>
  reports
    .filter((r): r is Extract<Report, { kind: 'text' }> => r.kind === 'text')
    .map((r) => r.delta)
    .join('')

let api: ScriptedAnthropic
const dirs: string[] = []

function makeAdapter(mode: SandboxMode = { kind: 'off' }): { adapter: ClaudeAgentSdkAdapter; workDir: string } {
  const workDir = mkdtempSync(join(tmpdir(), 'claude-adapter-work-'))
  dirs.push(workDir)
  const context: AdapterContext = {
    agentId: 'agent',
    sessionId: 'claude-adapter-test',
    workDir,
    model: 'echo',
    system: 'You are a test agent.',
    tools: ['shell', 'read_file', 'write_file', 'list_files'],
    modelProxy: { anthropic: api.url, openai: `${api.url}/v1` },
    sandbox: new Sandbox({ mode }),
  }
  return { adapter: new ClaudeAgentSdkAdapter(context), workDir }
}

const turnOf = (turn: number, prompt: string, extra: { resumed?: boolean; signal?: AbortSignal; history?: AdapterTurnHistory } = {}) => ({
  turn,
  prompt,
  history: extra.history ?? [],
  resumed: extra.resumed ?? false,
  signal: extra.signal ?? new AbortController().signal,
})
type AdapterTurnHistory = Parameters<ClaudeAgentSdkAdapter['runTurn']>[0]['history']

/** Claude Code processes whose cwd is `workDir` (the SDK's child for that adapter). */
function claudeProcessesIn(workDir: string): number[] {
  const pids: number[] = []
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (readlinkSync(`/proc/${name}/cwd`) !== workDir) continue
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('claude')) pids.push(Number(name))
    } catch {
      /* gone meanwhile */
    }
  }
  return pids
}

async function until(check: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  process.env.TETHER_WORKER_TOKEN = FAKE_TOKEN
  process.env.ANTHROPIC_API_KEY = FAKE_KEY
  api = await startScriptedAnthropic()
})

afterAll(async () => {
  delete process.env.TETHER_WORKER_TOKEN
  delete process.env.ANTHROPIC_API_KEY
  await api.close()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('claude-agent-sdk adapter', () => {
  it('streams the answer as several text deltas and reports usage', async () => {
    const { adapter } = makeAdapter()
    await adapter.start()
    const { sink, reports } = recordingSink()
    await adapter.runTurn(turnOf(1, 'hello there friend'), sink)
    await adapter.close()
    expect(textOf(reports)).toBe('Echo: hello there friend')
    expect(reports.filter((r) => r.kind === 'text').length).toBeGreaterThan(1)
    const usage = reports.find((r) => r.kind === 'usage')
    expect(usage).toMatchObject({ kind: 'usage', inputTokens: expect.any(Number), outputTokens: 4 })
    // Claude Code asked for the agent's model and got only the allowed tools.
    const request = api.requests.at(-1)!
    expect(request.model).toBe('echo')
    const names = request.tools.map((t) => t.name)
    expect(names).toEqual(expect.arrayContaining(['Bash', 'Read', 'Write', 'Edit', 'Glob']))
    for (const forbidden of ['WebFetch', 'WebSearch', 'Task', 'Agent']) expect(names).not.toContain(forbidden)
  })

  it('runs Claude Code Bash in the work dir, with a clean environment and a dummy key', async () => {
    const { adapter, workDir } = makeAdapter()
    const { sink, reports } = recordingSink()
    await adapter.runTurn(turnOf(1, '/run pwd; env'), sink)
    await adapter.close()
    const start = reports.find((r) => r.kind === 'toolStart')
    expect(start).toMatchObject({ name: 'Bash', input: { command: 'pwd; env' } })
    const end = reports.find((r): r is Extract<Report, { kind: 'toolEnd' }> => r.kind === 'toolEnd')
    expect(end?.key).toBe((start as { key: string }).key)
    expect(end?.ok).toBe(true)
    const output = String(end?.output)
    expect(output.split('\n')[0]).toBe(workDir)
    expect(output).not.toContain(FAKE_TOKEN)
    expect(output).not.toContain(FAKE_KEY)
    expect(output).not.toMatch(/^TETHER_/m)
    expect(output).toContain(`ANTHROPIC_API_KEY=${DUMMY_API_KEY}`)
    expect(output).toContain(`ANTHROPIC_BASE_URL=${api.url}`)
    expect(output).not.toContain(`HOME=${workDir}\n`)
    // Text before the call and the answer after it both stream.
    expect(textOf(reports)).toMatch(/^Running pwd; env\.Bash succeeded:\n/)
  })

  it('carries the SDK session over to the next turn', async () => {
    const { adapter } = makeAdapter()
    const first = recordingSink()
    await adapter.runTurn(turnOf(1, 'first message'), first.sink)
    const before = api.requests.length
    const second = recordingSink()
    await adapter.runTurn(turnOf(2, 'second message'), second.sink)
    await adapter.close()
    expect(textOf(second.reports)).toBe('Echo: second message')
    const sent = JSON.stringify(api.requests.slice(before)[0].messages)
    expect(sent).toContain('first message')
    expect(sent).toContain('Echo: first message')
  })

  it('a session Claude Code can no longer resume (its transcript gone) goes on in a fresh one with the history', async () => {
    const { adapter } = makeAdapter()
    await adapter.runTurn(turnOf(1, 'remember the word heron'), recordingSink().sink)
    // The adapter's private HOME (a field: no other way in from outside) loses its transcripts.
    const home = (adapter as unknown as { home: string }).home
    rmSync(join(home, '.claude', 'projects'), { recursive: true, force: true })
    const history: AdapterTurnHistory = [
      { role: 'user', content: [{ type: 'text', text: 'remember the word heron' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Echo: remember the word heron' }] },
    ]
    const before = api.requests.length
    const { sink, reports } = recordingSink()
    await adapter.runTurn(turnOf(2, 'and now?', { history }), sink)
    await adapter.close()
    expect(textOf(reports)).toBe('Echo: and now?')
    expect(JSON.stringify(api.requests.slice(before).at(-1)?.messages)).toContain('<conversation-so-far>')
  })

  it('a resumed turn starts a fresh session with the history as context and the prompt last', async () => {
    const { adapter } = makeAdapter()
    const history: AdapterTurnHistory = [
      { role: 'user', content: [{ type: 'text', text: 'remember the word pelican' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Echo: remember the word pelican' }] },
    ]
    const before = api.requests.length
    const { sink, reports } = recordingSink()
    await adapter.runTurn(turnOf(2, 'what was the word', { history, resumed: true }), sink)
    await adapter.close()
    expect(textOf(reports)).toBe('Echo: what was the word')
    const sent = JSON.stringify(api.requests[before].messages)
    expect(sent).toContain('remember the word pelican')
  })

  it('abort ends the run promptly and leaves no Claude Code process behind', async () => {
    const { adapter, workDir } = makeAdapter()
    const controller = new AbortController()
    const { sink, reports } = recordingSink(() => controller.abort(new Error('stop')))
    const abandonedBefore = api.abandoned
    await adapter.runTurn(turnOf(1, `/slow ${'word '.repeat(200)}`, { signal: controller.signal }), sink)
    expect(controller.signal.aborted).toBe(true)
    expect(textOf(reports).length).toBeLessThan('Echo: '.length + 'word '.length * 200)
    await until(() => api.abandoned > abandonedBefore, 'the model request to be dropped')
    await until(() => claudeProcessesIn(workDir).length === 0, 'claude code to exit')
    await adapter.close()
  })

  it('a failed model call fails the turn with the reason', async () => {
    const { adapter } = makeAdapter()
    const { sink } = recordingSink()
    await expect(adapter.runTurn(turnOf(1, '/fail'), sink)).rejects.toThrow(/scripted failure|400/)
    await adapter.close()
  })

  it('Claude Code called nothing but the Messages API (no telemetry, no update check, no other host)', () => {
    expect(api.paths.length).toBeGreaterThan(5)
    for (const path of api.paths) expect(path).toMatch(/^POST \/v1\/messages(\?beta=true)?$/)
  })

  it('refuses in bwrap mode (no network for the proxy) with the reason', async () => {
    const { adapter } = makeAdapter({ kind: 'bwrap' })
    await adapter.start()
    const { sink, reports } = recordingSink()
    await expect(adapter.runTurn(turnOf(1, 'hello'), sink)).rejects.toThrow(BWRAP_REFUSAL)
    expect(reports).toEqual([])
    expect(BWRAP_REFUSAL).toMatch(/^claude-agent-sdk needs the docker runtime \(or TETHER_SANDBOX=off for local development\)/)
  })
})
