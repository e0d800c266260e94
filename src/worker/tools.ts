/**
 * The agent's tools, confined to the worker's work dir. `shell` runs `bash -c` there inside the
 * command sandbox (sandbox.ts: bwrap namespaces, a dropped uid, or the operator's explicit `off`),
 * with a timeout, killed as a process group on cancel; outputs are capped so one call stays a
 * small event. The file tools run in the worker itself, so they check paths twice: a path that
 * resolves (symlinks included) outside the work dir is refused before opening, and the file
 * actually opened is checked again through /proc/self/fd, so a symlink swapped in between (by
 * the terminal or a concurrent shell call) cannot redirect the worker to the data dir.
 */
import { spawn } from 'node:child_process'
import { constants } from 'node:fs'
import { mkdir, open, readdir, readlink, realpath, type FileHandle } from 'node:fs/promises'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import type { ToolName } from './events'
import type { ToolSpec } from './providers/types'
import { workerSandbox, type Sandbox } from './sandbox'

export const MAX_TOOL_OUTPUT = 64 * 1024
const SHELL_TIMEOUT_MS = 120_000

export const TOOL_SPECS: Record<ToolName, ToolSpec> = {
  shell: {
    name: 'shell',
    description: 'Run a bash command in the work directory and return its combined output and exit code.',
    inputSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
  },
  read_file: {
    name: 'read_file',
    description: 'Read a UTF-8 text file (path relative to the work directory).',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
  write_file: {
    name: 'write_file',
    description: 'Write a UTF-8 text file (path relative to the work directory), creating directories as needed.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
  },
  list_files: {
    name: 'list_files',
    description: 'List the entries of a directory (path relative to the work directory).',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } } },
  },
}

export interface ToolResult {
  ok: boolean
  output: string
  exitCode?: number
}

export class ToolError extends Error {}

function cap(text: string): string {
  return text.length > MAX_TOOL_OUTPUT
    ? `${text.slice(0, MAX_TOOL_OUTPUT)}\n… (${text.length - MAX_TOOL_OUTPUT} more characters cut)`
    : text
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel))
}

/** Resolves `path` inside `workDir`, following symlinks of the existing part; throws outside it. */
export async function confine(workDir: string, path: unknown): Promise<string> {
  if (typeof path !== 'string' || path.length === 0) throw new ToolError('path must be a non-empty string')
  const root = await realpath(workDir)
  const target = resolve(root, path)
  if (!inside(root, target)) throw new ToolError(`path ${path} is outside the work directory`)
  // Follow symlinks on the longest existing prefix, so a link cannot point out of the work dir.
  let existing = target
  for (;;) {
    try {
      const real = await realpath(existing)
      if (!inside(root, real)) throw new ToolError(`path ${path} resolves outside the work directory`)
      return target
    } catch (err) {
      if (err instanceof ToolError) throw err
      const parent = dirname(existing)
      if (parent === existing) return target
      existing = parent
    }
  }
}

/**
 * Opens a confined path, then checks where the open descriptor really points: the final
 * component is never followed (O_NOFOLLOW) and a parent swapped for a symlink after confine()
 * is caught here. A write opens without truncating, so a refused target is left as it was.
 */
async function openConfined(workDir: string, path: unknown, flags: number): Promise<FileHandle> {
  const target = await confine(workDir, path)
  const handle = await open(target, flags | constants.O_NOFOLLOW, 0o644)
  try {
    if (process.platform === 'linux') {
      const opened = await readlink(`/proc/self/fd/${handle.fd}`)
      if (!inside(await realpath(workDir), opened)) throw new ToolError(`path ${String(path)} resolves outside the work directory`)
    }
    return handle
  } catch (err) {
    await handle.close()
    throw err
  }
}

async function runShell(workDir: string, command: string, signal: AbortSignal, sandbox: Sandbox): Promise<ToolResult> {
  const spec = await sandbox.command(['bash', '-c', command], { workDir })
  return new Promise((resolvePromise) => {
    // detached: bwrap (or bash) leads its own process group, so one kill reaches everything;
    // bwrap's --die-with-parent and pid namespace take the sandboxed processes with it.
    const child = spawn(spec.file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid } : {}),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    const collect = (data: Buffer) => {
      if (output.length <= MAX_TOOL_OUTPUT) output += data.toString('utf8')
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        /* already gone */
      }
    }
    const timer = setTimeout(kill, SHELL_TIMEOUT_MS)
    signal.addEventListener('abort', kill, { once: true })
    child.on('error', (err) => {
      clearTimeout(timer)
      resolvePromise({ ok: false, output: err.message })
    })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      signal.removeEventListener('abort', kill)
      const exitCode = code ?? (sig ? 128 : 1)
      resolvePromise({ ok: exitCode === 0, output: cap(output), exitCode })
    })
  })
}

export async function runTool(
  name: string,
  input: unknown,
  workDir: string,
  signal: AbortSignal,
  sandbox: Sandbox = workerSandbox(),
): Promise<ToolResult> {
  const args = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
  try {
    switch (name as ToolName) {
      case 'shell': {
        if (typeof args.command !== 'string' || !args.command.trim()) throw new ToolError('command must be a non-empty string')
        return await runShell(workDir, args.command, signal, sandbox)
      }
      case 'read_file': {
        // O_NONBLOCK: a FIFO planted in the work dir must not hang the worker.
        const handle = await openConfined(workDir, args.path, constants.O_RDONLY | constants.O_NONBLOCK)
        try {
          if (!(await handle.stat()).isFile()) throw new ToolError(`${String(args.path)} is not a file`)
          return { ok: true, output: cap(await handle.readFile('utf8')) }
        } finally {
          await handle.close()
        }
      }
      case 'write_file': {
        if (typeof args.content !== 'string') throw new ToolError('content must be a string')
        const created = await mkdir(dirname(await confine(workDir, args.path)), { recursive: true })
        if (created) await sandbox.handOver(workDir, created)
        const handle = await openConfined(workDir, args.path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK)
        try {
          if (!(await handle.stat()).isFile()) throw new ToolError(`${String(args.path)} is not a file`)
          await handle.truncate(0)
          await handle.writeFile(args.content)
        } finally {
          await handle.close()
        }
        await sandbox.handOver(workDir, await confine(workDir, args.path))
        return { ok: true, output: `wrote ${Buffer.byteLength(args.content)} bytes to ${String(args.path)}` }
      }
      case 'list_files': {
        const path = await confine(workDir, args.path ?? '.')
        const entries = await readdir(path, { withFileTypes: true })
        const lines = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort()
        return { ok: true, output: lines.join('\n') }
      }
      default:
        throw new ToolError(`unknown tool ${name}`)
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    // ENOENT and friends are the model's mistakes, reported back to it like any tool failure.
    return { ok: false, output: message }
  }
}
