/**
 * The `process` runtime (embedded default): each worker is a child process running the bundled
 * worker (dist/worker/worker.cjs, built on first use) with the same node binary as the server.
 * Its environment is only its identity, its work dir, the command sandbox mode (TETHER_SANDBOX,
 * default bwrap) and the model provider settings; its work dir is `<workRoot>/<worker id>` and
 * survives restarts until stop(). Each worker has its own, so one worker per agent (issue #15)
 * means one work dir per agent; its info carries the claim's agentId. Work dirs live outside the data dir (workRootFor): with the
 * sandbox off, or for a file tool, `../../secret` must lead nowhere. Workers exit when their stdin
 * closes, so they do not outlive a server that crashed.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseSandboxMode } from '../../../worker/sandbox'
import { hostEnv } from '../../settings/host-env'
import { bundleWorker } from '../image/bundle'
import {
  claimEnv,
  forwardedEnv,
  WORKER_NODE_FLAGS,
  type LogOptions,
  type StartOptions,
  type WorkerClaim,
  type WorkerExit,
  type WorkerInfo,
  type WorkerRuntime,
} from '../runtime'
import { copyTree, dirBytes } from '../workspace-copy'
import { WorkspaceTooLargeError } from '../workspaces'
import { LogBuffer } from './log-buffer'

export interface ProcessRuntimeOptions {
  /** Parent of the workers' work dirs (default: a fresh dir under the OS temp dir). */
  workRoot?: string
  /** The worker script (default: the bundle, rebuilt when stale). */
  entry?: string
  /** Extra environment for every worker (default: the provider settings of this process). */
  env?: Record<string, string>
  /** Heartbeat interval passed to workers. */
  heartbeatMs?: number
  /** The workers' command sandbox (TETHER_SANDBOX: bwrap, setuid:<uid>:<gid>, off; default bwrap). */
  sandbox?: string
}

/**
 * Where a server's process workers keep their work dirs: `workRoot` (TETHER_WORK_ROOT, from the
 * settings), else `<os tmpdir>/tether-work-<hash of the data dir>`. Never inside the data dir.
 */
export function workRootFor(dataDir: string, workRoot?: string): string {
  if (workRoot) return resolve(workRoot)
  return join(tmpdir(), `tether-work-${createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 16)}`)
}

/**
 * Creates (or re-checks) a private dir: ours, not a symlink, mode 0700. The default work root's
 * name is predictable, so in a shared /tmp someone else could have made it first.
 */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const info = lstatSync(dir)
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) {
    throw new Error(`work dir ${dir} is not a directory owned by this user; remove it or set TETHER_WORK_ROOT`)
  }
  chmodSync(dir, 0o700)
}

interface ProcessWorker {
  id: string
  child: ChildProcess
  sessionId: string | null
  agentId: string | null
  startedAt: number
  exitCode: number | null
  running: boolean
  workDir: string
  logs: LogBuffer
  exited: Promise<void>
}

export class ProcessRuntime implements WorkerRuntime {
  readonly kind = 'process' as const
  private readonly workers = new Map<string, ProcessWorker>()
  private readonly listeners = new Set<(exit: WorkerExit) => void>()
  private readonly workRoot: string
  private entry: Promise<string> | null = null

  private readonly sandbox: string

  constructor(private readonly options: ProcessRuntimeOptions = {}) {
    this.workRoot = options.workRoot ?? join(tmpdir(), `tether-workers-${process.pid}`)
    this.sandbox = options.sandbox ?? 'bwrap'
    // A typo here must stop the server, not reach the first worker as a crash loop.
    parseSandboxMode(this.sandbox)
  }

  private resolveEntry(): Promise<string> {
    this.entry ??= this.options.entry ? Promise.resolve(this.options.entry) : bundleWorker()
    return this.entry
  }

  private async spawnWorker(
    id: string,
    workDir: string,
    claim: WorkerClaim | undefined,
    logs: LogBuffer,
    seedFrom?: string,
  ): Promise<ProcessWorker> {
    const entry = await this.resolveEntry()
    privateDir(this.workRoot)
    privateDir(workDir)
    if (seedFrom) {
      // Before the worker runs: it finds the files as they were at the fork's turn.
      await copyTree(seedFrom, workDir)
      chmodSync(workDir, 0o700)
    }
    const env: Record<string, string> = {
      PATH: hostEnv().PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: workDir,
      LANG: hostEnv().LANG ?? 'C.UTF-8',
      TETHER_WORK_DIR: workDir,
      TETHER_EXIT_WITH_STDIN: '1',
      TETHER_SANDBOX: this.sandbox,
      ...(this.options.heartbeatMs ? { TETHER_HEARTBEAT_MS: String(this.options.heartbeatMs) } : {}),
      ...(this.options.env ?? forwardedEnv()),
      ...(claim ? claimEnv(claim) : { TETHER_WARM: '1' }),
    }
    // Node's memory flags first (runtime.ts WORKER_NODE_FLAGS: worker density, issue #13).
    const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, entry], { cwd: workDir, env, stdio: ['pipe', 'pipe', 'pipe'] })
    child.stdout?.on('data', (d: Buffer) => logs.push(d))
    child.stderr?.on('data', (d: Buffer) => logs.push(d))
    // A worker that already exited must not crash the server through an EPIPE on its stdin.
    child.stdin?.on('error', () => {})
    const worker: ProcessWorker = {
      id,
      child,
      sessionId: claim?.sessionId ?? null,
      agentId: claim?.agentId ?? null,
      startedAt: Date.now(),
      exitCode: null,
      running: true,
      workDir,
      logs,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          worker.running = false
          worker.exitCode = code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : null)
          resolve()
          const nativeId = String(child.pid ?? '')
          for (const listener of this.listeners) listener({ id, nativeId, sessionId: worker.sessionId, exitCode: worker.exitCode, signal })
        })
      }),
    }
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve)
      child.once('error', reject)
    })
    return worker
  }

  private info(worker: ProcessWorker): WorkerInfo {
    return {
      id: worker.id,
      runtime: 'process',
      sessionId: worker.sessionId,
      agentId: worker.agentId,
      running: worker.running,
      exitCode: worker.exitCode,
      startedAt: worker.startedAt,
      workDir: worker.workDir,
      nativeId: String(worker.child.pid ?? ''),
    }
  }

  private get(id: string): ProcessWorker {
    const worker = this.workers.get(id)
    if (!worker) throw new Error(`no process worker ${id}`)
    return worker
  }

  async start(claim?: WorkerClaim, options: StartOptions = {}): Promise<WorkerInfo> {
    const id = `w_${randomBytes(6).toString('hex')}`
    const worker = await this.spawnWorker(id, join(this.workRoot, id), claim, new LogBuffer(), options.seedFrom)
    this.workers.set(id, worker)
    return this.info(worker)
  }

  async snapshotWorkspace(id: string, dest: string, maxBytes: number): Promise<number> {
    const { workDir } = this.get(id)
    // Measured first, so an oversized work dir is refused without copying it.
    const bytes = await dirBytes(workDir)
    if (bytes > maxBytes) throw new WorkspaceTooLargeError(bytes, maxBytes)
    await copyTree(workDir, dest)
    return bytes
  }

  async claim(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const worker = this.get(id)
    if (!worker.running) throw new Error(`worker ${id} has exited`)
    if (worker.sessionId !== null) throw new Error(`worker ${id} already serves session ${worker.sessionId}`)
    worker.sessionId = claim.sessionId
    worker.agentId = claim.agentId ?? null
    worker.child.stdin?.write(`${JSON.stringify(claim)}\n`)
    return this.info(worker)
  }

  async restart(id: string, claim: WorkerClaim): Promise<WorkerInfo> {
    const old = this.get(id)
    if (old.running) {
      old.child.kill('SIGKILL')
      await old.exited
    }
    const worker = await this.spawnWorker(id, old.workDir, claim, old.logs)
    this.workers.set(id, worker)
    return this.info(worker)
  }

  async kill(id: string): Promise<void> {
    const worker = this.workers.get(id)
    // SIGKILL also ends a SIGSTOPped process; the exit listener reports it as a crash.
    if (worker?.running) worker.child.kill('SIGKILL')
  }

  async stop(id: string, options: { graceMs?: number } = {}): Promise<void> {
    const worker = this.workers.get(id)
    if (!worker) return
    if (worker.running) {
      worker.child.kill('SIGTERM')
      const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), options.graceMs ?? 5_000).unref())
      if ((await Promise.race([worker.exited, grace])) === 'timeout') {
        worker.child.kill('SIGKILL')
        await worker.exited
      }
    }
    this.workers.delete(id)
    rmSync(worker.workDir, { recursive: true, force: true })
  }

  async inspect(id: string): Promise<WorkerInfo | null> {
    const worker = this.workers.get(id)
    return worker ? this.info(worker) : null
  }

  async list(): Promise<WorkerInfo[]> {
    return [...this.workers.values()].map((w) => this.info(w))
  }

  async logs(id: string, options: LogOptions = {}): Promise<string> {
    return this.get(id).logs.text(options.tail)
  }

  onExit(listener: (exit: WorkerExit) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    this.listeners.clear()
  }
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }
  return numbers[signal]
}
