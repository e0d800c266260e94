/**
 * The sandbox for what people and the agent run: the `shell` tool and the terminal. It turns
 * "run this argv in the work dir" into a spawn spec for the mode in force (env TETHER_SANDBOX):
 *
 *   bwrap (default)     bubblewrap: every namespace unshared (no network but the sandbox's own
 *                       loopback, own pids, own /proc), uid/gid 1000 with no capabilities, read-only
 *                       system dirs and an allowlist of /etc, a private /tmp, and only the session's
 *                       work dir writable. Nothing of the data dir, the signing secret, other work
 *                       dirs or any process's environment is visible.
 *   setuid:<uid>:<gid>  (inside a worker container, whose worker runs as root with CAP_SETUID/
 *                       SETGID/CHOWN): drop to that uid/gid; the worker's and pid 1's environ belong
 *                       to root and are out of the command's reach.
 *   off                 the operator's explicit opt-out: a plain spawn, logged loudly once.
 *
 * Every mode starts the command with a clean, minimal environment (never TETHER_*, never *_KEY).
 * bwrap itself is spawned with that minimal env too: inside the sandbox pid 1 is bwrap, and its
 * /proc/1/environ is whatever bwrap was started with, even with --clearenv.
 */
import { spawn } from 'node:child_process'
import { constants, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, type Stats, writeFileSync } from 'node:fs'
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import { log } from './log'

export type SandboxMode = { kind: 'bwrap' } | { kind: 'setuid'; uid: number; gid: number } | { kind: 'off' }

/** The uid/gid a bwrap sandbox runs as, inside its own user namespace. */
export const SANDBOX_UID = 1000
export const SANDBOX_GID = 1000
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
export const SANDBOX_FIX = 'install bubblewrap (apt-get install bubblewrap) or set TETHER_SANDBOX=off to run unsandboxed'
const PROBE_TIMEOUT_MS = 5_000

export class SandboxConfigError extends Error {}

/** Thrown (and shown to the person or the model) when bwrap is wanted but cannot run. */
export class SandboxUnavailableError extends Error {
  constructor(reason: string) {
    super(`the command sandbox is unavailable (${reason}): ${SANDBOX_FIX}`)
  }
}

/** TETHER_SANDBOX → mode; unset means bwrap. Anything else is refused with the accepted forms. */
export function parseSandboxMode(value: string | undefined): SandboxMode {
  const v = (value ?? '').trim()
  if (v === '' || v === 'bwrap') return { kind: 'bwrap' }
  if (v === 'off') return { kind: 'off' }
  const m = /^setuid:(\d+):(\d+)$/.exec(v)
  if (m) {
    const uid = Number(m[1])
    const gid = Number(m[2])
    if (uid === 0 || gid === 0) throw new SandboxConfigError('TETHER_SANDBOX=setuid needs a non-root uid and gid')
    return { kind: 'setuid', uid, gid }
  }
  throw new SandboxConfigError(`TETHER_SANDBOX must be bwrap, setuid:<uid>:<gid> or off (got ${JSON.stringify(v)})`)
}

export interface SpawnSpec {
  file: string
  args: string[]
  cwd: string
  env: Record<string, string>
  uid?: number
  gid?: number
}

export interface CommandOptions {
  workDir: string
  /** For the terminal: keeps the controlling tty (no --new-session) and sets TERM. */
  tty?: { term: string }
}

export interface SandboxOptions {
  mode: SandboxMode
  /** The bwrap binary (default `bwrap` on PATH; tests point it at a missing one). */
  bwrapPath?: string
  /** PATH used to find bwrap and given to commands (default SANDBOX_PATH). */
  path?: string
  /** LANG given to commands. */
  lang?: string
}

/** System dirs bound read-only (a symlink on the host, like /bin -> usr/bin, is recreated as one). */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']
/**
 * What of /etc commands get: what bash, coreutils, python, node, git and TLS need. Not shadow,
 * gshadow, sub[ug]id, ssh host keys, npmrc/pip.conf/gitconfig (they can hold credentials) or the
 * host's passwd (a synthetic one names the sandbox user).
 */
const ETC_ALLOW = [
  'alternatives',
  'bash.bashrc',
  'bash_completion.d',
  'ca-certificates',
  'ca-certificates.conf',
  'debian_version',
  'fonts',
  'gai.conf',
  'host.conf',
  'hosts',
  'inputrc',
  'issue',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'locale.alias',
  'locale.gen',
  'localtime',
  'magic',
  'magic.mime',
  'manpath.config',
  'mime.types',
  'nsswitch.conf',
  'os-release',
  'perl',
  'profile',
  'profile.d',
  'protocols',
  'services',
  'shells',
  'skel',
  'ssl',
  'terminfo',
  'timezone',
  'vim',
  'xdg',
]

function minimalEnv(options: SandboxOptions, workDir: string, tty?: { term: string }): Record<string, string> {
  return {
    PATH: options.path ?? SANDBOX_PATH,
    HOME: workDir,
    LANG: options.lang ?? 'C.UTF-8',
    USER: 'tether',
    ...(tty ? { TERM: tty.term, COLORTERM: 'truecolor' } : {}),
  }
}

export class Sandbox {
  private probe: Promise<string | null> | null = null
  private etcDir: string | null = null
  private fsArgs: string[] | null = null
  private readonly prepared = new Set<string>()

  constructor(readonly options: SandboxOptions) {}

  get mode(): SandboxMode {
    return this.options.mode
  }

  /** One line for logs and the spec: who commands run as. */
  describe(): string {
    const m = this.options.mode
    if (m.kind === 'bwrap') return `bwrap (uid ${SANDBOX_UID} in its own namespaces, no network)`
    if (m.kind === 'setuid') return `setuid (uid ${m.uid}, gid ${m.gid})`
    return `off (unsandboxed, as ${userInfo().username})`
  }

  /**
   * Whether commands can run: for bwrap, one real `bwrap … true` with the same namespaces, cached
   * (a missing binary, or a kernel/container that forbids user namespaces, both end up here).
   * Resolves null when usable, else the reason.
   */
  check(): Promise<string | null> {
    if (this.options.mode.kind !== 'bwrap') return Promise.resolve(null)
    this.probe ??= new Promise((resolve) => {
      const args = [...this.namespaceArgs(), ...this.filesystemArgs(), '--chdir', '/', '--', 'true']
      let stderr = ''
      const child = spawn(this.bwrapPath(), args, { env: { PATH: this.options.path ?? SANDBOX_PATH }, stdio: ['ignore', 'ignore', 'pipe'] })
      const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS)
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')))
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        resolve(err.code === 'ENOENT' ? `${this.bwrapPath()} not found` : err.message)
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve(code === 0 ? null : `bwrap cannot create its namespaces: ${stderr.trim() || `exit ${code}`}`)
      })
    })
    return this.probe
  }

  /** The spawn spec for `argv` in `workDir`; throws SandboxUnavailableError when bwrap cannot run. */
  async command(argv: string[], options: CommandOptions): Promise<SpawnSpec> {
    const [file, ...rest] = argv
    if (!file) throw new Error('empty command')
    const { workDir, tty } = options
    const env = minimalEnv(this.options, workDir, tty)
    const mode = this.options.mode
    if (mode.kind === 'off') return { file, args: rest, cwd: workDir, env }
    if (mode.kind === 'setuid') {
      await this.prepareForUid(workDir, mode.uid, mode.gid)
      return { file, args: rest, cwd: workDir, env, uid: mode.uid, gid: mode.gid }
    }
    const reason = await this.check()
    if (reason) throw new SandboxUnavailableError(reason)
    const args = [
      ...this.namespaceArgs(),
      // A pty needs the sandbox in its session for job control; a one-shot command gets its own
      // session so it cannot push input into a terminal it inherited (TIOCSTI).
      ...(tty ? [] : ['--new-session']),
      ...this.filesystemArgs(),
      '--bind',
      workDir,
      workDir,
      '--chdir',
      workDir,
      '--clearenv',
      ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
      '--',
      file,
      ...rest,
    ]
    // bwrap's own environment is what /proc/1/environ shows inside: only PATH.
    return { file: this.bwrapPath(), args, cwd: workDir, env: { PATH: env.PATH } }
  }

  /** setuid mode: the work dir (and what the worker wrote into it as root) belongs to the command's uid. */
  private async prepareForUid(workDir: string, uid: number, gid: number): Promise<void> {
    if (this.prepared.has(workDir)) return
    // The worker's supplementary groups (root's) would otherwise pass to node-pty's child.
    try {
      process.setgroups?.([])
    } catch {
      /* not root: nothing to drop */
    }
    await chownInside(await realpath(workDir), workDir, uid, gid)
    this.prepared.add(workDir)
  }

  /** setuid mode: hands `path` (just created by the worker, as root) under `workDir` to the command's uid. */
  async handOver(workDir: string, path: string): Promise<void> {
    const m = this.options.mode
    if (m.kind === 'setuid') await chownInside(await realpath(workDir), path, m.uid, m.gid)
  }

  private bwrapPath(): string {
    return this.options.bwrapPath ?? 'bwrap'
  }

  private namespaceArgs(): string[] {
    return [
      '--unshare-all',
      '--unshare-user',
      // No namespaces of its own inside: user namespaces are the usual way into kernel bugs.
      '--disable-userns',
      '--die-with-parent',
      '--cap-drop',
      'ALL',
      '--uid',
      String(SANDBOX_UID),
      '--gid',
      String(SANDBOX_GID),
      '--hostname',
      'sandbox',
    ]
  }

  /** Computed once per sandbox (lstat of the system dirs, a read of /etc), not per command. */
  private filesystemArgs(): string[] {
    if (this.fsArgs) return this.fsArgs
    const args: string[] = []
    for (const dir of SYSTEM_DIRS) {
      let info: Stats
      try {
        info = lstatSync(dir)
      } catch {
        continue
      }
      if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir)
      else if (info.isDirectory()) args.push('--ro-bind', dir, dir)
    }
    for (const name of ETC_ALLOW) args.push('--ro-bind-try', `/etc/${name}`, `/etc/${name}`)
    for (const name of readdirSafe('/etc').filter((n) => /^python3(\.\d+)?$/.test(n)))
      args.push('--ro-bind', `/etc/${name}`, `/etc/${name}`)
    const etc = this.syntheticEtc()
    args.push('--ro-bind', join(etc, 'passwd'), '/etc/passwd', '--ro-bind', join(etc, 'group'), '/etc/group')
    args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/run', '--dir', '/var/tmp')
    this.fsArgs = args
    return args
  }

  /** passwd/group naming the sandbox user, written once per worker to a private temp dir. */
  private syntheticEtc(): string {
    if (this.etcDir) return this.etcDir
    const dir = mkdtempSync(join(tmpdir(), 'tether-sandbox-etc-'))
    writeFileSync(
      join(dir, 'passwd'),
      `root:x:0:0:root:/root:/usr/sbin/nologin\ntether:x:${SANDBOX_UID}:${SANDBOX_GID}:Tether sandbox:/tmp:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
      { mode: 0o644 },
    )
    writeFileSync(join(dir, 'group'), `root:x:0:\ntether:x:${SANDBOX_GID}:\nnogroup:x:65534:\n`, { mode: 0o644 })
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
    return (this.etcDir = dir)
  }
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

/**
 * chown -R that cannot be redirected: each entry is opened without following symlinks, the open
 * descriptor's real path must still be under `root` (a directory swapped for a link by a
 * concurrent command is caught), and only then fchown'd. Links, sockets and the like are skipped.
 */
async function chownInside(root: string, path: string, uid: number, gid: number): Promise<void> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return
  }
  let isDir = false
  try {
    const real = await readlink(`/proc/self/fd/${handle.fd}`)
    if (real !== root && !real.startsWith(`${root}/`)) return
    await handle.chown(uid, gid)
    isDir = (await handle.stat()).isDirectory()
  } finally {
    await handle.close()
  }
  if (isDir) for (const name of readdirSafe(path)) await chownInside(root, join(path, name), uid, gid)
}

let current: Sandbox | null = null

/** TETHER_SANDBOX from the worker's settings (main.ts), used by the first workerSandbox() call. */
let configuredMode: string | undefined

export function configureWorkerSandbox(mode: string | undefined): void {
  configuredMode = mode
}

/**
 * The worker's sandbox (memoized), in the mode main.ts configured (default bwrap). The first call
 * warns loudly when sandboxing is off and starts the bwrap probe so the first command does not wait.
 */
export function workerSandbox(): Sandbox {
  if (current) return current
  const sandbox = new Sandbox({ mode: parseSandboxMode(configuredMode) })
  current = sandbox
  if (sandbox.mode.kind === 'off') log.warn(`TETHER_SANDBOX=off: collaborators' commands run unsandboxed as ${userInfo().username}`)
  else log.info({ sandbox: sandbox.describe() }, 'command sandbox')
  void sandbox.check().then((reason) => {
    if (reason) log.error(`shell tool and terminal will refuse: ${new SandboxUnavailableError(reason).message}`)
  })
  return sandbox
}
