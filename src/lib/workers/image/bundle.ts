/**
 * Bundles src/worker into one CommonJS file (dist/worker/worker.cjs) with esbuild, so the worker
 * starts fast (no TypeScript loader) and ships into the container image as a single file.
 * node-pty stays external: its native addon is copied next to the bundle (see rootfs.ts).
 */
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { projectRoot, workerBundlePath, workerEntrySource } from '../paths'

/** Packages the bundle loads at run time from node_modules. */
export const WORKER_EXTERNALS = [
  '@lydell/node-pty',
  // claude-agent-sdk adapter: the SDK is ESM that finds its Claude Code binary from its own
  // import.meta.url (undefined once bundled into CJS); loaded lazily by a dynamic import() from
  // node_modules, next to the binary's package (rootfs.ts copies both into the image).
  '@anthropic-ai/claude-agent-sdk',
] as const

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** Source trees the worker bundle is made from (its own code and the channel schemas). */
function workerSourceDirs(): string[] {
  const root = projectRoot()
  return [
    join(root, 'src/worker'),
    join(root, 'src/lib/sessions'),
    join(root, 'src/lib/common'),
    join(root, 'src/lib/gateway'),
    join(root, 'src/lib/settings'),
    join(root, 'src/lib/workers/protocol'),
  ].filter(existsSync)
}

export function bundleIsFresh(outfile = workerBundlePath()): boolean {
  if (!existsSync(outfile)) return false
  const built = statSync(outfile).mtimeMs
  return workerSourceDirs().every((dir) => newestMtime(dir) <= built)
}

export interface BundleOptions {
  outfile?: string
  /** Rebuild even when the bundle is newer than every source file. */
  force?: boolean
}

/** Builds the bundle when it is missing or stale; returns its path. */
export async function bundleWorker(options: BundleOptions = {}): Promise<string> {
  const outfile = options.outfile ?? workerBundlePath()
  if (!options.force && bundleIsFresh(outfile)) return outfile
  // Imported lazily: esbuild is a build tool, not needed by a server that already has a bundle.
  const esbuild = await import('esbuild')
  // Written aside and renamed: a server spawning a worker meanwhile never sees half a file.
  const tmp = `${outfile}.${process.pid}.${Date.now()}.tmp`
  await esbuild.build({
    entryPoints: [workerEntrySource()],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: [...WORKER_EXTERNALS],
    sourcemap: false,
    minify: false,
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: projectRoot(),
  })
  renameSync(tmp, outfile)
  return outfile
}

export const workerBundleDir = (): string => dirname(workerBundlePath())
