/**
 * Starts Durable Streams servers as child processes, so each one's CPU and RSS are its own and
 * not the load generator's. Used by the benchmark and by the SIGKILL durability test.
 *
 * Every server is addressed as `<origin>/v1/stream/<path>`: ours mounts streams there, and the
 * reference server treats any URL path as a stream path.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { request } from 'undici'
import { postgresDatabaseFor } from './postgres'

export const repoRoot = resolve(import.meta.dirname, '..')
export const oursEntry = join(repoRoot, 'src/server/streams-main.ts')
export const referenceEntry = join(repoRoot, 'bench/reference-server.ts')
/** Where `npm run streams:build` puts our bundled server (what `npm run streams:prod` runs). */
export const oursBundle = join(repoRoot, 'dist/streams/streams-main.mjs')
export const referenceBundle = join(repoRoot, 'dist/bench/reference-server.mjs')

/**
 * How a server runs: `compiled` = plain node on an esbuild bundle (how production runs; the
 * default for the benchmark), `tsx` = the TypeScript sources under tsx (`npm run streams`),
 * whose loader alone adds ~40 MiB of RSS.
 */
export type Runner = 'compiled' | 'tsx'

/** Builds both bundles (ours through the package script, so there is one recipe for it). */
export function buildBundles(): void {
  execFileSync('npm', ['run', '--silent', 'streams:build'], { cwd: repoRoot, stdio: 'inherit' })
  execFileSync(
    join(repoRoot, 'node_modules/.bin/esbuild'),
    [
      referenceEntry,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--packages=external',
      `--outfile=${referenceBundle}`,
      '--log-level=warning',
    ],
    { cwd: repoRoot, stdio: 'inherit' },
  )
}

export type ServerKind = 'ours-normal' | 'ours-fsync' | 'ours-postgres' | 'ref-file' | 'ref-memory'
/** What `npm run bench` runs by default. */
export const allServerKinds: ServerKind[] = ['ours-normal', 'ours-fsync', 'ref-file', 'ref-memory']
/** What `--servers` may name: also our server on PostgreSQL (issue 14; needs the test cluster). */
export const knownServerKinds: ServerKind[] = [...allServerKinds, 'ours-postgres']
/**
 * Every kind but the file-backed reference, for rows it cannot run: with many live readers it
 * stalls or loses the writer's messages in every run (specs/benchmarks.md).
 */
export const withoutFileReference: ServerKind[] = knownServerKinds.filter((k) => k !== 'ref-file')

export const serverLabels: Record<ServerKind, string> = {
  'ours-normal': 'ours normal',
  'ours-fsync': 'ours fsync',
  'ours-postgres': 'ours postgres',
  'ref-file': 'ref file',
  'ref-memory': 'ref memory',
}

export interface ServerLaunch {
  entry: string
  bundle: string
  /** Node flags for the compiled run (ours: those of `npm run streams:prod`, e.g. heap sizing). */
  nodeArgs?: string[]
  /** Environment for the child; `dataDir` is a fresh temp dir owned by the caller. */
  env(dataDir: string): Record<string, string>
  /** More environment that needs work first (a database); the same for the same data dir. */
  prepare?(dataDir: string): Promise<Record<string, string>>
}

/**
 * The node flags `npm run streams:prod` passes before the bundle, read from package.json so the
 * benchmark runs our server exactly as production does (one recipe).
 */
export function prodNodeArgs(): string[] {
  const scripts = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).scripts as Record<string, string>
  const words = (scripts['streams:prod'] ?? '').split(/\s+/).filter(Boolean)
  const node = words.indexOf('node')
  return words.slice(node + 1).filter((w) => w.startsWith('--'))
}
const oursNodeArgs = prodNodeArgs()

export const launches: Record<ServerKind, ServerLaunch> = {
  'ours-normal': {
    entry: oursEntry,
    bundle: oursBundle,
    nodeArgs: oursNodeArgs,
    env: (d) => ({ TETHER_DATA_DIR: d, TETHER_DURABILITY: 'normal' }),
  },
  'ours-fsync': {
    entry: oursEntry,
    bundle: oursBundle,
    nodeArgs: oursNodeArgs,
    env: (d) => ({ TETHER_DATA_DIR: d, TETHER_DURABILITY: 'fsync' }),
  },
  'ours-postgres': {
    entry: oursEntry,
    bundle: oursBundle,
    nodeArgs: oursNodeArgs,
    env: (d) => ({ TETHER_DATA_DIR: d }),
    prepare: async (d) => ({ TETHER_DATABASE_URL: await postgresDatabaseFor(d) }),
  },
  'ref-file': { entry: referenceEntry, bundle: referenceBundle, env: (d) => ({ REFERENCE_DATA_DIR: d }) },
  'ref-memory': { entry: referenceEntry, bundle: referenceBundle, env: () => ({}) },
}

export function isAvailable(kind: ServerKind): boolean {
  return existsSync(launches[kind].entry)
}

export interface RunningServer {
  origin: string
  /** How it was started (a second node of the same kind starts the same way). */
  runner: Runner
  pid: number
  dataDir: string
  child: ChildProcess
  /** Absolute URL path (no origin) of a stream: `/v1/stream/<path>`. */
  streamPath(path: string): string
  streamUrl(path: string): string
  /** Resolves with the exit code or signal once the child has exited. */
  exited: Promise<string>
  /** Last lines the child printed, for error messages. */
  outputTail(): string
  /** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
  stop(): Promise<void>
  /** SIGKILL at once; resolves once the process is gone. */
  kill(): Promise<void>
}

export function makeDataDir(prefix = 'tether-bench-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}

/** A free loopback port: bind port 0, read it, release it. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr ? addr.port : 0
      srv.close(() => resolvePort(port))
    })
  })
}

export interface StartOptions {
  dataDir: string
  /** Extra environment (e.g. TETHER_LONG_POLL_TIMEOUT_MS). */
  env?: Record<string, string>
  readyTimeoutMs?: number
  /** Default 'tsx'; 'compiled' needs buildBundles() first. */
  runner?: Runner
}

/**
 * Spawns `node <bundle>` or `node --import tsx <entry>` directly (not via the tsx or npm
 * wrappers) so the child pid is the server itself. The port is chosen here and passed as PORT;
 * readiness is "answers HTTP".
 */
export async function startServer(launch: ServerLaunch, opts: StartOptions): Promise<RunningServer> {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  const prepared = (await launch.prepare?.(opts.dataDir)) ?? {}
  const args = opts.runner === 'compiled' ? [...(launch.nodeArgs ?? []), launch.bundle] : ['--import', 'tsx', launch.entry]
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      ...launch.env(opts.dataDir),
      ...prepared,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // Always drain the pipes: a full pipe buffer would block the server's logging.
  let tail = ''
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise<string>((res) => {
    child.once('exit', (code, signal) => res(signal ?? `exit ${code}`))
  })
  let hasExited = false
  void exited.then(() => {
    hasExited = true
  })

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000)
  for (;;) {
    if (hasExited) throw new Error(`server ${args.at(-1)} exited before it was ready:\n${tail}`)
    if (Date.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`server ${args.at(-1)} not ready on ${origin}:\n${tail}`)
    }
    try {
      const res = await request(`${origin}/v1/stream/readiness-probe`, { method: 'HEAD' })
      await res.body.dump()
      break
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  const gone = async (signal: NodeJS.Signals, graceMs: number) => {
    if (hasExited) return
    child.kill(signal)
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    await exited
    clearTimeout(timer)
  }

  return {
    origin,
    runner: opts.runner ?? 'tsx',
    pid: child.pid!,
    dataDir: opts.dataDir,
    child,
    streamPath: (path) => `/v1/stream/${path}`,
    streamUrl: (path) => `${origin}/v1/stream/${path}`,
    exited,
    outputTail: () => tail,
    stop: () => gone('SIGTERM', 5_000),
    kill: () => gone('SIGKILL', 0),
  }
}
