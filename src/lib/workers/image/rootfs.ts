/**
 * Assembles the worker image's root filesystem from this machine, for `docker import` where no
 * registry can be reached: the host's node binary, a shell and the usual command-line tools for
 * the shell tool and the terminal, every shared library `ldd` lists for them, node-pty's prebuilt
 * addon, terminfo entries (so interactive programs get colours and cursor movement), a minimal
 * /etc, and the bundled worker at /app/worker.cjs.
 */
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { projectRoot } from '../paths'
import { assembleClaudeCode, type ClaudeCodePlan, claudeCodeFingerprint, planClaudeCode } from './rootfs-claude-code'
import { assembleOpencode, type OpencodePlan, opencodeFingerprint, planOpencode } from './rootfs-opencode'

/** Commands the image carries when the host has them (bash and node are required). */
export const SHELL_TOOLS = [
  'bash',
  'sh',
  'ls',
  'cat',
  'echo',
  'printf',
  'mkdir',
  'rmdir',
  'rm',
  'cp',
  'mv',
  'ln',
  'touch',
  'chmod',
  'head',
  'tail',
  'wc',
  'grep',
  'sed',
  'awk',
  'sort',
  'uniq',
  'cut',
  'tr',
  'tee',
  'seq',
  'xargs',
  'find',
  'env',
  'pwd',
  'date',
  'sleep',
  'uname',
  'id',
  'whoami',
  'stty',
  'tput',
  'clear',
  'reset',
  'true',
  'false',
  'test',
  'expr',
  'readlink',
  'basename',
  'dirname',
  'du',
  'df',
  'ps',
  'kill',
  'diff',
  'tar',
  'gzip',
  'less',
  // Full-screen programs for the terminal (issue #10): vim edits, top watches.
  'vim',
  'vi',
  'top',
  'yes',
  'md5sum',
  'sha256sum',
  'base64',
  'od',
  'stat',
  'which',
  'hostname',
] as const

/** terminfo entries for TERM=xterm-256color and friends. */
const TERMINFO = [
  'x/xterm',
  'x/xterm-256color',
  'x/xterm-color',
  'd/dumb',
  'v/vt100',
  'v/vt220',
  'l/linux',
  's/screen',
  's/screen-256color',
]
const TERMINFO_DIRS = ['/lib/terminfo', '/usr/share/terminfo', '/etc/terminfo']

/**
 * The few vim runtime files its defaults load (defaults.vim turns on syntax and filetypes, and
 * colour names come from colors/lists): without them vim stops at start on an error and "Press
 * ENTER". Syntax files per language are left out (vim skips missing ones quietly).
 */
const VIM_RUNTIME = [
  'defaults.vim',
  'filetype.vim',
  'ftoff.vim',
  'ftplugin.vim',
  'ftplugof.vim',
  'indent.vim',
  'indoff.vim',
  'syntax/syntax.vim',
  'syntax/synload.vim',
  'syntax/syncolor.vim',
  'syntax/nosyntax.vim',
  'colors/lists/default.vim',
]
const VIM_SHARE = '/usr/share/vim'

const HOST_PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']

/**
 * The image's default user, and the uid/gid the shell tool and the terminal run as. The docker
 * runtime starts the worker itself as root (few capabilities) so its token is out of their reach.
 */
export const WORKER_UID = 1000
export const WORKER_GID = 1000

function which(command: string): string | null {
  for (const dir of HOST_PATH) {
    const path = join(dir, command)
    if (existsSync(path) && statSync(path).isFile()) return path
  }
  return null
}

/** Shared libraries (absolute paths, as the dynamic loader will look them up) a binary needs. */
export function sharedLibraries(binary: string): string[] {
  let out: string
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
  } catch {
    return [] // static binary or a script
  }
  const libs: string[] = []
  for (const line of out.split('\n')) {
    const arrow = /=>\s+(\/\S+)/.exec(line)
    const bare = /^\s*(\/\S+)\s+\(/.exec(line)
    const path = arrow?.[1] ?? bare?.[1]
    if (path) libs.push(path)
  }
  return libs
}

/** Copies `hostPath`'s content (symlinks followed) to the same path under `root`. */
function copyInto(root: string, hostPath: string, targetPath = hostPath, mode?: number): void {
  const target = join(root, targetPath)
  if (existsSync(target)) return
  mkdirSync(dirname(target), { recursive: true })
  copyFileSync(realpathSync(hostPath), target)
  chmodSync(target, mode ?? statSync(realpathSync(hostPath)).mode & 0o777)
}

/** What goes into the image, found on this host (cheap: no copying). */
export interface RootfsPlan {
  nodeBinary: string
  nodeVersion: string
  /** command name → host path */
  tools: Record<string, string>
  libraries: string[]
  ptyDir: string
  ptyPlatformName: string
  ptyPlatformDir: string
  ptyAddon: string
  terminfo: Record<string, string>
  /** vim's runtime files (same path in the image as on the host), when the host has vim */
  vimRuntime: string[]
  /** claude-agent-sdk adapter: the SDK and its Claude Code binary (rootfs-claude-code.ts) */
  claudeCode: ClaudeCodePlan | null
  /** opencode adapter: the opencode binary (rootfs-opencode.ts) */
  opencode: OpencodePlan | null
}

function resolvePackageDir(name: string): string {
  const require = createRequire(join(projectRoot(), 'package.json'))
  return dirname(require.resolve(`${name}/package.json`))
}

export function planRootfs(nodeBinary = process.execPath): RootfsPlan {
  const tools: Record<string, string> = {}
  for (const tool of SHELL_TOOLS) {
    const hostPath = which(tool)
    if (hostPath) tools[tool] = hostPath
  }
  if (!tools.bash) throw new Error('bash is required to build the worker image and was not found on this host')
  const ptyDir = resolvePackageDir('@lydell/node-pty')
  const ptyPlatformName = `@lydell/node-pty-${process.platform}-${process.arch}`
  const ptyPlatformDir = resolvePackageDir(ptyPlatformName)
  const ptyAddon = join(ptyPlatformDir, 'pty.node')
  const libraries = new Set<string>()
  const claudeCode = planClaudeCode()
  const opencode = planOpencode()
  const adapterBinaries = [...(claudeCode ? [claudeCode.binary] : []), ...(opencode ? [opencode.binary] : [])]
  for (const binary of [nodeBinary, ...Object.values(tools), ptyAddon, ...adapterBinaries])
    for (const lib of sharedLibraries(binary)) libraries.add(lib)
  const terminfo: Record<string, string> = {}
  for (const entry of TERMINFO) {
    const found = TERMINFO_DIRS.map((dir) => join(dir, entry)).find((path) => existsSync(path))
    if (found) terminfo[entry] = found
  }
  const vimRuntime: string[] = []
  if (tools.vim && existsSync(VIM_SHARE)) {
    // The runtime dir the host's vim was built for: /usr/share/vim/vim90 and the like.
    for (const dir of readdirSync(VIM_SHARE).filter((d) => /^vim\d+$/.test(d))) {
      for (const file of VIM_RUNTIME) if (existsSync(join(VIM_SHARE, dir, file))) vimRuntime.push(join(VIM_SHARE, dir, file))
    }
  }
  const nodeVersion = execFileSync(nodeBinary, ['--version'], { encoding: 'utf8' }).trim()
  return {
    nodeBinary,
    nodeVersion,
    tools,
    libraries: [...libraries].sort(),
    ptyDir,
    ptyPlatformName,
    ptyPlatformDir,
    ptyAddon,
    terminfo,
    vimRuntime,
    claudeCode,
    opencode,
  }
}

/** Fills `root` (an empty directory) with the worker image's files. */
export function assembleRootfs(root: string, plan: RootfsPlan, bundlePath: string): void {
  // mkdtemp makes 0700 directories; the image's / must be traversable by the worker user.
  chmodSync(root, 0o755)
  copyInto(root, plan.nodeBinary, '/usr/local/bin/node', 0o755)
  for (const [tool, hostPath] of Object.entries(plan.tools)) copyInto(root, hostPath, `/usr/bin/${tool}`)
  if (!plan.tools.sh) symlinkSync('bash', join(root, 'usr/bin/sh'))
  // usrmerge layout: /bin/sh and /bin/bash resolve like on the host.
  symlinkSync('usr/bin', join(root, 'bin'))
  for (const lib of plan.libraries) copyInto(root, lib)
  for (const [entry, hostPath] of Object.entries(plan.terminfo)) copyInto(root, hostPath, join('/usr/share/terminfo', entry), 0o644)
  for (const file of plan.vimRuntime) copyInto(root, file, file, 0o644)

  // node-pty: the JS package and its platform addon, found by the bundle's require at run time.
  cpSync(plan.ptyDir, join(root, 'app/node_modules/@lydell/node-pty'), { recursive: true, dereference: true })
  cpSync(plan.ptyPlatformDir, join(root, 'app/node_modules', plan.ptyPlatformName), { recursive: true, dereference: true })
  if (plan.claudeCode) assembleClaudeCode(root, plan.claudeCode)
  if (plan.opencode) assembleOpencode(root, plan.opencode)
  copyFileSync(bundlePath, join(root, 'app/worker.cjs'))
  writeFileSync(join(root, 'app/package.json'), JSON.stringify({ name: 'tether-worker', private: true, type: 'commonjs' }) + '\n')

  mkdirSync(join(root, 'etc'), { recursive: true })
  writeFileSync(
    join(root, 'etc/passwd'),
    `root:x:0:0:root:/root:/bin/bash\ntether:x:${WORKER_UID}:${WORKER_GID}:tether worker:/work:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
  )
  writeFileSync(join(root, 'etc/group'), `root:x:0:\ntty:x:5:\ntether:x:${WORKER_GID}:\nnogroup:x:65534:\n`)
  writeFileSync(join(root, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n')
  for (const dir of ['work', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(root, dir), { recursive: true })
  chmodSync(join(root, 'tmp'), 0o1777)
  // Docker seeds a new volume mounted at /work from the image's /work, owner included.
  try {
    chownSync(join(root, 'work'), WORKER_UID, WORKER_GID)
  } catch {
    // Not root: /work stays root-owned and the worker (uid 1000) cannot write its volume.
    throw new Error('building the worker image needs root (to give /work to the worker user)')
  }
}

/**
 * Bytes that decide the image's content, hashed into its tag so a changed worker, node binary
 * or layout gives a new image and an unchanged one is reused.
 */
export function rootfsFingerprintInputs(plan: RootfsPlan, bundlePath: string, layoutVersion: string): Buffer[] {
  return [
    Buffer.from(layoutVersion),
    readFileSync(bundlePath),
    Buffer.from(
      JSON.stringify({
        node: plan.nodeVersion,
        nodeSize: statSync(plan.nodeBinary).size,
        tools: plan.tools,
        libraries: plan.libraries,
        terminfo: plan.terminfo,
        vimRuntime: plan.vimRuntime,
        claudeCode: claudeCodeFingerprint(plan.claudeCode),
        opencode: opencodeFingerprint(plan.opencode),
      }),
    ),
    readFileSync(plan.ptyAddon),
  ]
}
