/**
 * The session's terminal: a real bash under a pseudo-terminal (node-pty), started on the first
 * input. Input from the stream is written to it: a `raw` input exactly as typed (keys for vim,
 * less, top …), any other input as a line (Enter added when it has no control characters, the
 * meaning input had before `raw` existed, so stored streams replay the same). Its output is
 * published as terminal `output` lines (batched every 30 ms), each tied to the input line that
 * was typed last (`commandId`); when the shell exits an `exit` line is written and the next input
 * starts a new shell. Colours and cursor movement pass through untouched (TERM=xterm-256color),
 * so interactive programs work in a terminal emulator reading the stream. The pty takes the size
 * of the last `resize` on the stream (the page sends one before its input when its size differs).
 *
 * A new shell gets its first input only after it has printed its prompt: input written earlier
 * sits in the tty, which echoes it before bash's line editor starts and then the editor echoes it
 * again after the prompt (the first command showed twice).
 *
 * The shell runs inside the command sandbox (sandbox.ts) with a minimal environment: with bwrap,
 * node-pty starts `bwrap … -- bash -i` (without --new-session, so bash keeps the pty as its
 * controlling terminal and job control works). When the sandbox cannot run, the input is answered
 * with an output line naming the fix and an exit line, and no shell starts.
 *
 * node-pty rather than `script(1)`: it gives resize (TIOCSWINSZ) and exit codes directly, and
 * its prebuilt addon (from @lydell/node-pty) ships in the npm package and in the worker image.
 */
import type { IPty } from '@lydell/node-pty'
import type { Publisher } from './publisher'
import { log } from './log'
import { SandboxUnavailableError, workerSandbox, type Sandbox } from './sandbox'

const OUTPUT_BATCH_MS = 30
/** The prompt is in once the new shell has been quiet this long after its first output. */
const PROMPT_QUIET_MS = 40
/** A shell that prints no prompt (PS1 empty, a slow rc file) still gets its input after this. */
const PROMPT_WAIT_MAX_MS = 3_000
const MAX_OUTPUT_EVENT = 64 * 1024
/** Exit code of a shell that could not start (as a shell reports a command it cannot execute). */
export const EXIT_CANNOT_RUN = 126

export interface TerminalOptions {
  publisher: Publisher
  agentId: string
  workDir: string
  /** Output events already in the stream per command (after a restart), to keep ids unique. */
  outputCounts: Map<string, number>
  initialSize?: { cols: number; rows: number } | null
  /** Default: the worker's sandbox from TETHER_SANDBOX. */
  sandbox?: Sandbox
}

/**
 * What to write to the pty for one input event. `raw` input (keys typed into the terminal) goes
 * as typed. Input without `raw` is a line typed at the prompt and arrives without a line ending:
 * add Enter; unless it carries control characters, which before `raw` existed marked keys.
 */
export function toPtyInput(data: string, raw = false): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what we look for
  if (raw || /[\u0000-\u001f\u007f]/.test(data)) return data
  return `${data}\r`
}

/** Resolves once a new shell's output has started and then paused (its prompt is drawn). */
function promptSettled(pty: IPty): Promise<void> {
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined
    const done = () => {
      clearTimeout(quiet)
      clearTimeout(cap)
      data.dispose()
      exit.dispose()
      resolve()
    }
    const cap = setTimeout(done, PROMPT_WAIT_MAX_MS)
    const data = pty.onData(() => {
      clearTimeout(quiet)
      quiet = setTimeout(done, PROMPT_QUIET_MS)
    })
    const exit = pty.onExit(done)
  })
}

export class Terminal {
  private pty: IPty | null = null
  private commandId: string | null = null
  private pending = ''
  private timer: NodeJS.Timeout | null = null
  private size: { cols: number; rows: number }
  private readonly sandbox: Sandbox
  private queue: Promise<void> = Promise.resolve()
  private closed = false

  constructor(private readonly options: TerminalOptions) {
    this.size = options.initialSize ?? { cols: 120, rows: 32 }
    // Resolved at worker start: logs the mode (loudly when off) and probes bwrap early.
    this.sandbox = options.sandbox ?? workerSandbox()
  }

  private async ensureShell(): Promise<IPty | null> {
    if (this.pty) return this.pty
    let spec: Awaited<ReturnType<Sandbox['command']>>
    try {
      spec = await this.sandbox.command(['bash', '-i'], { workDir: this.options.workDir, tty: { term: 'xterm-256color' } })
    } catch (err) {
      if (!(err instanceof SandboxUnavailableError) || !this.commandId) throw err
      log.error({ error: err.message }, 'terminal refused')
      this.publish({ kind: 'output', data: `tether: ${err.message}\r\n`, commandId: this.commandId })
      this.publish({ kind: 'exit', exitCode: EXIT_CANNOT_RUN, commandId: this.commandId })
      return null
    }
    // Loaded on first use: a worker that never opens a terminal never loads the addon.
    const { spawn } = await import('@lydell/node-pty')
    if (this.closed) return null
    const pty = spawn(spec.file, spec.args, {
      name: 'xterm-256color',
      cols: this.size.cols,
      rows: this.size.rows,
      cwd: spec.cwd,
      env: spec.env,
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
    })
    pty.onData((data) => this.onOutput(data))
    pty.onExit(({ exitCode }) => {
      this.flushOutput()
      if (this.commandId) this.publish({ kind: 'exit', exitCode, commandId: this.commandId })
      log.info({ exitCode }, 'terminal shell exited')
      if (this.pty === pty) this.pty = null
    })
    this.pty = pty
    await promptSettled(pty)
    return this.pty === pty ? pty : null
  }

  private nextOutputId(commandId: string): string {
    const n = this.options.outputCounts.get(commandId) ?? 0
    this.options.outputCounts.set(commandId, n + 1)
    return `${commandId}:o${n}`
  }

  private publish(line: { kind: 'output' | 'exit'; data?: string; exitCode?: number; commandId: string }): void {
    this.options.publisher.publish('terminal', {
      id: this.nextOutputId(line.commandId),
      source: this.options.agentId,
      ...(line.kind === 'output' ? { stream: 'stdout' as const } : {}),
      ...line,
    })
  }

  private onOutput(data: string): void {
    this.pending += data
    if (this.pending.length >= MAX_OUTPUT_EVENT) this.flushOutput()
    else this.timer ??= setTimeout(() => this.flushOutput(), OUTPUT_BATCH_MS)
  }

  private flushOutput(): void {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = null
    }
    if (!this.pending || !this.commandId) return
    const data = this.pending
    this.pending = ''
    this.publish({ kind: 'output', data, commandId: this.commandId })
  }

  /** `raw`: keys as typed (no Enter added); otherwise a prompt line (see toPtyInput). */
  input(commandId: string, data: string, raw = false): Promise<void> {
    // In arrival order, one at a time: starting the shell awaits, and lines typed meanwhile must
    // neither start a second shell nor overtake the first line.
    const next = this.queue.then(async () => {
      // Output produced so far belongs to the previous command.
      this.flushOutput()
      this.commandId = commandId
      const pty = await this.ensureShell()
      pty?.write(toPtyInput(data, raw))
    })
    this.queue = next.catch(() => {})
    return next
  }

  resize(cols: number, rows: number): void {
    this.size = { cols, rows }
    this.pty?.resize(cols, rows)
  }

  close(): void {
    this.closed = true
    this.flushOutput()
    const pty = this.pty
    this.pty = null
    try {
      pty?.kill()
    } catch {
      /* already gone */
    }
  }
}
