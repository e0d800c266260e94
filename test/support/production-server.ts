/**
 * Starts the real production server (`vite build` output served by src/server/main.ts) as a child
 * process on a free loopback port with its own data dir. Builds first when dist/ is missing
 * (`npm test` builds before vitest runs, so this is only for running one file by hand).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '../..')

export interface ProductionServer {
  url: string
  dataDir: string
  port: number
  /** Everything the server printed (stdout + stderr), for assertions and failure messages. */
  output(): string
  /** SIGTERM (or SIGKILL) and wait for exit; keeps the data dir. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Start again on the same port and data dir. */
  restart(): Promise<void>
  /** Stop and remove the data dir. */
  dispose(): Promise<void>
}

export function ensureProductionBuild(): void {
  if (existsSync(join(root, 'dist/server/server.js'))) return
  // vitest sets NODE_ENV=test, which would make vite ship React's development build.
  const env = { ...process.env, NODE_ENV: 'production' }
  const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit', env })
  if (built.status !== 0) throw new Error('vite build failed')
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      const port = typeof address === 'object' && address ? address.port : 0
      probe.close(() => resolvePort(port))
    })
  })
}

export interface ProductionServerOptions {
  /** Start under this umask (e.g. '000'), to check file modes do not depend on it. */
  umask?: string
}

export async function startProductionServer(
  env: Record<string, string> = {},
  options: ProductionServerOptions = {},
): Promise<ProductionServer> {
  ensureProductionBuild()
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-prod-'))
  let child: ChildProcess | undefined
  let log = ''

  const start = async () => {
    log += `--- start\n`
    const startedAt = log.length
    const args = ['--import', 'tsx', 'src/server/main.ts']
    // exec keeps node as the child itself, so stop() signals the server, not a shell.
    const [command, argv] =
      options.umask === undefined
        ? [process.execPath, args]
        : ['sh', ['-c', `umask ${options.umask}; exec "$0" "$@"`, process.execPath, ...args]]
    child = spawn(command, argv, {
      cwd: root,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: String(port),
        HOST: '127.0.0.1',
        TETHER_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const proc = child
    await new Promise<void>((ready, fail) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString()
        if (log.indexOf('Tether listening on', startedAt) !== -1) ready()
      }
      proc.stdout?.on('data', onData)
      proc.stderr?.on('data', onData)
      proc.once('exit', (code) => fail(new Error(`server exited with ${code} before listening:\n${log}`)))
    })
  }

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    await new Promise<void>((done) => {
      proc.once('exit', () => done())
      proc.kill(signal)
    })
  }

  await start()
  return {
    url: `http://127.0.0.1:${port}`,
    dataDir,
    port,
    output: () => log,
    stop,
    restart: start,
    dispose: async () => {
      await stop()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
