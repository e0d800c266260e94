/**
 * The agent's tools, confined to the worker's work dir: a path that resolves (symlinks included)
 * outside it is refused. `shell` runs `bash -c` there with a timeout, killed as a process group on
 * cancel; outputs are capped so one call stays a small event.
 */
import { spawn } from 'node:child_process'
import { mkdir, readFile, readdir, realpath, stat, writeFile } from 'node:fs/promises'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import type { ToolName } from './events'
import type { ToolSpec } from './providers/types'

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
  return text.length > MAX_TOOL_OUTPUT ? `${text.slice(0, MAX_TOOL_OUTPUT)}\n… (${text.length - MAX_TOOL_OUTPUT} more characters cut)` : text
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

function runShell(workDir: string, command: string, signal: AbortSignal): Promise<ToolResult> {
  return new Promise((resolvePromise) => {
    const child = spawn('bash', ['-c', command], { cwd: workDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
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

export async function runTool(name: string, input: unknown, workDir: string, signal: AbortSignal): Promise<ToolResult> {
  const args = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
  try {
    switch (name as ToolName) {
      case 'shell': {
        if (typeof args.command !== 'string' || !args.command.trim()) throw new ToolError('command must be a non-empty string')
        return await runShell(workDir, args.command, signal)
      }
      case 'read_file': {
        const path = await confine(workDir, args.path)
        const info = await stat(path)
        if (!info.isFile()) throw new ToolError(`${String(args.path)} is not a file`)
        return { ok: true, output: cap(await readFile(path, 'utf8')) }
      }
      case 'write_file': {
        if (typeof args.content !== 'string') throw new ToolError('content must be a string')
        const path = await confine(workDir, args.path)
        await mkdir(dirname(path), { recursive: true })
        await writeFile(path, args.content)
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
