/**
 * The `opencode` adapter (issue #11, seed 004): the worker starts `opencode serve` (opencode
 * 1.18, the binary of npm `opencode-linux-x64`) on 127.0.0.1 (port 4096 when free, as seed 004
 * has it inside the session's container), drives it with `@opencode-ai/sdk` (v2 client) and
 * bridges its event stream into the TurnSink (opencode-events.ts). Containment:
 *
 *  - spawned from the sandbox's spawn spec: in a docker worker uid 1000 with a clean env; its
 *    environment is built here from the sandbox's minimal one (never process.env), so the worker
 *    token, the signing secret and provider keys cannot reach it or its tools;
 *  - its one provider is the worker's credential-free model proxy (Anthropic Messages wire format)
 *    with a dummy key; models.dev, autoupdate, share, LSP downloads and plugins are off, so it
 *    needs no network but the proxy; project config in the work dir is ignored;
 *  - its data (XDG dirs: sessions, logs) lives in a private 0700 dir outside the work dir;
 *  - its HTTP API wants a random per-run password (basic auth), so another user on the host (the
 *    process runtime with TETHER_SANDBOX=off) cannot drive it. Processes of its own uid (its tools,
 *    the terminal) can read that from its environment: they already run as that user in that work
 *    dir and reach the same proxy, so driving it gives them nothing new;
 *  - bwrap mode has no network, so it could not reach the proxy: turns fail with the reason.
 *
 * One opencode session serves the agent's turns while the process lives (opencode keeps its own
 * memory). A turn run again after a crash, the first turn of a new worker, and the turn after a
 * cancelled one start a fresh opencode session whose first prompt carries the conversation so far
 * (historyPreamble): Tether's stream is the record, opencode's transcript only a cache of it.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chown, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createOpencodeClient, type OpencodeClient } from '@opencode-ai/sdk/v2/client'
import { log } from '../log'
import {
  type BridgeOutcome,
  historyPreamble,
  OPENCODE_OFFLINE_ENV,
  OPENCODE_PROVIDER,
  OPENCODE_TOOLS,
  OpencodeEventBridge,
  type OpencodeEvent,
  opencodeConfig,
} from './opencode-events'
import { cgroupMemory, memoryKillNote } from './memory-kill'
import type { AdapterContext, AdapterFactory, AdapterTurn, AgentAdapter, TurnSink } from './types'

export const OPENCODE_BWRAP_REFUSAL =
  'opencode needs the docker runtime (or TETHER_SANDBOX=off for local development): the bwrap sandbox has no network, so opencode could not reach the model proxy'

/**
 * `--port 0`: opencode takes seed 004's 4096 when it is free (the first agent in a session's
 * container) and another free port otherwise (more agents, or many sessions on one host); an
 * explicit 4096 would make the second one fail.
 */
const OPENCODE_PORT = 0
const START_TIMEOUT_MS = 120_000
const ABORT_WAIT_MS = 5_000
const KILL_GRACE_MS = 3_000
const BINARY = join('node_modules', 'opencode-linux-x64', 'bin', 'opencode')
const SETPRIV = '/usr/bin/setpriv'

/** The opencode binary: next to the worker (the image's /app/node_modules) or up from it / the cwd. */
export function opencodeBinary(): string {
  const starts = [process.argv[1] ? dirname(process.argv[1]) : null, process.cwd()].filter((d): d is string => d !== null)
  for (const start of starts) {
    let dir = start
    for (;;) {
      const candidate = join(dir, BINARY)
      if (existsSync(candidate)) return candidate
      const up = dirname(dir)
      if (up === dir) break
      dir = up
    }
  }
  throw new Error('the opencode binary (npm opencode-linux-x64) is not installed in this worker')
}

type Listener = (event: OpencodeEvent) => void

export class OpencodeAdapter implements AgentAdapter {
  readonly name = 'opencode' as const
  private child: ChildProcess | null = null
  private client: OpencodeClient | null = null
  private dataDir: string | null = null
  private exited: Promise<string> | null = null
  private readonly listeners = new Set<Listener>()
  private readonly events = new AbortController()
  /** Our opencode session while the process lives (null: the next turn starts one with the history). */
  private session: string | null = null
  private stderr: string[] = []
  /** Where `opencode serve` listens (tests and the bench read it). */
  url: string | null = null

  constructor(private readonly context: AdapterContext) {}

  async start(): Promise<void> {
    if (this.context.sandbox.mode.kind === 'bwrap') return // runTurn says why, in the turn's record
    if (this.client) return
    const password = randomBytes(24).toString('base64url')
    const dataDir = (this.dataDir = await this.privateDir())
    const argv = [opencodeBinary(), 'serve', '--port', String(OPENCODE_PORT), '--hostname', '127.0.0.1']
    // Unsandboxed on a host, a SIGKILLed worker would leave opencode serving forever (in a
    // container it dies with the container): setpriv has the kernel kill it with its parent.
    const unsandboxed = this.context.sandbox.mode.kind === 'off' && existsSync(SETPRIV)
    const spec = await this.context.sandbox.command(unsandboxed ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : argv, {
      workDir: this.context.workDir,
    })
    const env: Record<string, string> = {
      ...spec.env,
      ...OPENCODE_OFFLINE_ENV,
      XDG_DATA_HOME: join(dataDir, 'data'),
      XDG_CONFIG_HOME: join(dataDir, 'config'),
      XDG_CACHE_HOME: join(dataDir, 'cache'),
      XDG_STATE_HOME: join(dataDir, 'state'),
      OPENCODE_CONFIG_CONTENT: JSON.stringify(opencodeConfig(this.context)),
      OPENCODE_SERVER_PASSWORD: password,
    }
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env,
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.child = child
    const oomKillsBefore = cgroupMemory()?.oomKills ?? 0
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => resolve(`opencode could not start: ${err.message}`))
      child.once('exit', (code, signal) =>
        resolve(`opencode exited (${signal ?? `code ${code}`})${memoryKillNote(signal, oomKillsBefore)}${this.stderrTail()}`),
      )
    })
    // A dead opencode is started again by the next turn (its sessions are gone with it).
    void this.exited.then(() => {
      if (this.child !== child) return
      this.child = null
      this.client = null
      this.session = null
    })
    child.stderr?.on('data', (d: Buffer) => this.keepStderr(d.toString('utf8')))
    const url = await this.listening(child)
    this.url = url
    const authorization = `Basic ${Buffer.from(`opencode:${password}`).toString('base64')}`
    this.client = createOpencodeClient({ baseUrl: url, headers: { authorization } })
    await this.subscribe(this.client)
    log.info({ agentId: this.context.agentId, url }, 'opencode serve started')
  }

  async runTurn(turn: AdapterTurn, sink: TurnSink): Promise<void> {
    if (this.context.sandbox.mode.kind === 'bwrap') throw new Error(OPENCODE_BWRAP_REFUSAL)
    if (turn.signal.aborted) return
    if (!this.client) await this.start()
    const client = this.client
    if (!client) throw new Error('opencode is not running')
    // A turn run again after a crash starts over in a fresh opencode session: what it had done is
    // in Tether's stream (history), and its own record of the interrupted run would replay it.
    if (turn.resumed) this.session = null
    const fresh = this.session === null
    const sessionId = this.session ?? (await this.createSession(client, turn.turn))
    this.session = sessionId
    const allowed = new Set(this.context.tools.flatMap((t) => OPENCODE_TOOLS[t] ?? []))
    const bridge = new OpencodeEventBridge(sink, sessionId, allowed)
    const preamble = fresh ? historyPreamble(turn.history) : null

    let settle: (outcome: BridgeOutcome) => void = () => {}
    const ended = new Promise<BridgeOutcome>((resolve) => (settle = resolve))
    const listener: Listener = (event) => {
      const outcome = bridge.handle(event)
      if (outcome.kind === 'permission') {
        void client.permission.reply({ requestID: outcome.requestId, reply: outcome.reply }).catch(() => {})
      } else if (outcome.kind !== 'running') settle(outcome)
    }
    const onAbort = () => settle({ kind: 'failed', reason: 'aborted' })
    this.listeners.add(listener)
    turn.signal.addEventListener('abort', onAbort, { once: true })
    try {
      // The history and the message go as separate text parts: the message stays the last one.
      const parts = [...(preamble ? [{ type: 'text' as const, text: preamble, synthetic: true }] : []), { type: 'text' as const, text: turn.prompt }]
      const sent = await client.session.promptAsync({
        sessionID: sessionId,
        model: { providerID: OPENCODE_PROVIDER, modelID: this.context.model },
        agent: 'build',
        parts,
      })
      if (sent.error) throw new Error(`opencode refused the prompt: ${JSON.stringify(sent.error).slice(0, 500)}`)
      const exited = this.exited?.then((reason): BridgeOutcome => ({ kind: 'failed', reason })) ?? ended
      const outcome = await Promise.race([ended, exited])
      if (turn.signal.aborted) {
        // The next turn starts a fresh opencode session with the history: the aborted run's
        // transcript ends in a half-made step (an aborted tool call), and a run not seen idle
        // again could still report into it.
        await this.abort(client, sessionId)
        if (this.session === sessionId) this.session = null
        return
      }
      if (outcome.kind === 'failed') throw new Error(outcome.reason)
    } finally {
      this.listeners.delete(listener)
      turn.signal.removeEventListener('abort', onAbort)
    }
  }

  async close(): Promise<void> {
    this.events.abort()
    this.listeners.clear()
    const child = this.child
    this.child = null
    this.client = null
    this.session = null
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const gone = await Promise.race([this.exited, new Promise((r) => setTimeout(() => r(null), KILL_GRACE_MS).unref())])
      if (gone === null) child.kill('SIGKILL')
    }
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true }).catch(() => {})
    this.dataDir = null
  }

  /** Stops opencode's run of the turn (the model call and a running tool) and waits until it is idle. */
  private async abort(client: OpencodeClient, sessionId: string): Promise<void> {
    const idle = new Promise<void>((resolve) => {
      const listener: Listener = (event) => {
        const p = event.properties ?? {}
        const idleNow = event.type === 'session.idle' || (event.type === 'session.status' && (p.status as { type?: string } | undefined)?.type === 'idle')
        if (idleNow && p.sessionID === sessionId) {
          this.listeners.delete(listener)
          resolve()
        }
      }
      this.listeners.add(listener)
      setTimeout(() => {
        this.listeners.delete(listener)
        resolve()
      }, ABORT_WAIT_MS).unref()
    })
    await client.session.abort({ sessionID: sessionId }).catch(() => {})
    return idle
  }

  private async createSession(client: OpencodeClient, turn: number): Promise<string> {
    // A title of our own: opencode would otherwise spend a model call on making one up.
    const created = await client.session.create({ title: `Tether ${this.context.sessionId} @${this.context.agentId} from turn ${turn}` })
    if (!created.data) throw new Error(`opencode could not create a session: ${JSON.stringify(created.error).slice(0, 500)}`)
    return created.data.id
  }

  /** Resolves with the URL from opencode's "listening on" line; rejects when it exits or hangs. */
  private listening(child: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`opencode serve did not start within ${START_TIMEOUT_MS / 1000} s${this.stderrTail()}`))
      }, START_TIMEOUT_MS)
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString('utf8')
        const m = /listening on (http:\/\/[^\s]+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(m[1])
        }
        if (out.length > 65_536) out = out.slice(-4_096)
      })
      void this.exited?.then((reason) => {
        clearTimeout(timer)
        reject(new Error(reason))
      })
    })
  }

  /** Opens opencode's event stream (one for the process, fanned out to the running turn) and waits for its hello. */
  private async subscribe(client: OpencodeClient): Promise<void> {
    const result = await client.event.subscribe({}, { signal: this.events.signal, sseMaxRetryAttempts: Number.POSITIVE_INFINITY })
    let hello: () => void = () => {}
    const connected = new Promise<void>((resolve) => (hello = resolve))
    void (async () => {
      try {
        for await (const raw of result.stream) {
          const event = raw as OpencodeEvent
          if (event.type === 'server.connected') hello()
          for (const listener of [...this.listeners]) listener(event)
        }
      } catch (err) {
        if (!this.events.signal.aborted) log.warn({ agentId: this.context.agentId, error: String(err) }, 'opencode event stream ended')
      }
    })()
    const failed = this.exited?.then((reason) => Promise.reject(new Error(reason)))
    await Promise.race([connected, ...(failed ? [failed] : [])])
  }

  /** A 0700 dir of the sandbox user's own, outside the work dir (people's files never show it). */
  private async privateDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), `tether-opencode-${this.context.agentId}-`))
    for (const sub of ['data', 'config', 'cache', 'state']) await mkdir(join(dir, sub))
    const mode = this.context.sandbox.mode
    if (mode.kind === 'setuid') for (const path of [dir, ...['data', 'config', 'cache', 'state'].map((s) => join(dir, s))]) await chown(path, mode.uid, mode.gid)
    return dir
  }

  private keepStderr(text: string): void {
    this.stderr.push(text)
    if (this.stderr.length > 50) this.stderr.shift()
    log.debug({ agentId: this.context.agentId, opencode: text.slice(0, 500) }, 'opencode stderr')
  }

  private stderrTail(): string {
    const text = this.stderr.join('').trim()
    return text ? ` (${text.slice(-500)})` : ''
  }
}

export const createOpencodeAdapter: AdapterFactory = (context) => new OpencodeAdapter(context)
