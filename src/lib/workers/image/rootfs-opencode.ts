/**
 * The worker image's part for the opencode adapter (issue #11): the `opencode` binary of npm
 * `opencode-linux-x64` (opencode 1.18, one ~185 MB self-contained Bun executable needing only
 * libc's libraries, added to the image's ldd list), at /app/node_modules/opencode-linux-x64/bin/
 * where the worker looks for it (src/worker/adapters/opencode.ts: up from /app/worker.cjs). The
 * worker bundle carries @opencode-ai/sdk itself. Fingerprinted by version and size, not hashed
 * (reading 185 MB on every ensureWorkerImage() would cost time for nothing).
 */
import { chmodSync, cpSync, existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { projectRoot } from '../paths'

export interface OpencodePlan {
  /** `opencode-linux-x64` and the like */
  binaryPackage: string
  binaryPackageDir: string
  binary: string
  version: string
  size: number
}

/** What of opencode this host has (null when not installed: the image then has no opencode). */
export function planOpencode(): OpencodePlan | null {
  const binaryPackage = `opencode-${process.platform}-${process.arch}`
  const require = createRequire(join(projectRoot(), 'package.json'))
  let binaryPackageDir: string
  try {
    binaryPackageDir = dirname(require.resolve(`${binaryPackage}/package.json`))
  } catch {
    return null
  }
  const binary = join(binaryPackageDir, 'bin', 'opencode')
  if (!existsSync(binary)) return null
  const version = (JSON.parse(readFileSync(join(binaryPackageDir, 'package.json'), 'utf8')) as { version: string }).version
  return { binaryPackage, binaryPackageDir, binary, version, size: statSync(binary).size }
}

/** Copies the binary's package into the image's /app/node_modules. */
export function assembleOpencode(root: string, plan: OpencodePlan): void {
  const target = join(root, 'app/node_modules', plan.binaryPackage)
  cpSync(plan.binaryPackageDir, target, { recursive: true, dereference: true })
  // The sandbox user (uid 1000) runs it.
  chmodSync(join(target, 'bin', 'opencode'), 0o755)
}

export function opencodeFingerprint(plan: OpencodePlan | null): string {
  return plan ? JSON.stringify({ opencode: plan.version, size: plan.size }) : 'no-opencode'
}
