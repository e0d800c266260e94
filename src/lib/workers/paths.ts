/**
 * Where the worker's files live. The server code may run from src/ (tsx, vitest) or from a vite
 * bundle under dist/server/, so the project root is found by walking up to Tether's package.json
 * rather than by a fixed relative path. TETHER_ROOT overrides it.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hostEnv } from '../settings/host-env'

function isTetherRoot(dir: string): boolean {
  const pkg = join(dir, 'package.json')
  if (!existsSync(pkg)) return false
  try {
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tether'
  } catch {
    return false
  }
}

let cachedRoot: string | undefined

export function projectRoot(): string {
  if (cachedRoot) return cachedRoot
  const fromEnv = hostEnv().TETHER_ROOT
  if (fromEnv) return (cachedRoot = resolve(fromEnv))
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start
    for (;;) {
      if (isTetherRoot(dir)) return (cachedRoot = dir)
      const parent = dirname(dir)
      if (parent === dir) break
      dir = parent
    }
  }
  return (cachedRoot = process.cwd())
}

/** The worker program's entry (TypeScript source). */
export const workerEntrySource = (): string => join(projectRoot(), 'src/worker/main.ts')
/** The bundled worker: one CommonJS file, node-pty left external. */
export const workerBundlePath = (): string => join(projectRoot(), 'dist/worker/worker.cjs')
