/**
 * The worker image's part for the claude-agent-sdk adapter (issue #11): the Claude Agent SDK
 * (external to the worker bundle, see bundle.ts) and the Claude Code binary it runs, from this
 * host's node_modules, at the same module paths under /app/node_modules so the SDK finds its
 * binary as it does here. The binary is one ~400 MB self-contained executable needing only libc's
 * libraries (added to the image's ldd list). It is fingerprinted by version and size, not hashed:
 * reading 400 MB on every ensureWorkerImage() would cost a second for nothing.
 */
import { chmodSync, cpSync, existsSync, readFileSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { projectRoot } from '../paths'

const SDK = '@anthropic-ai/claude-agent-sdk'

export interface ClaudeCodePlan {
  sdkDir: string
  sdkVersion: string
  /** `@anthropic-ai/claude-agent-sdk-linux-x64` and the like */
  binaryPackage: string
  binaryPackageDir: string
  binary: string
  binaryVersion: string
  binarySize: number
}

/** A package's dir: from its package.json, or its main entry when its exports hide package.json (the SDK's do). */
function packageDir(name: string, entry = 'package.json'): string | null {
  const require = createRequire(join(projectRoot(), 'package.json'))
  try {
    return dirname(require.resolve(entry === '' ? name : `${name}/${entry}`))
  } catch {
    return null
  }
}

/** What of the SDK this host has (null when not installed: the image then has no claude-agent-sdk). */
export function planClaudeCode(): ClaudeCodePlan | null {
  const sdkDir = packageDir(SDK, '')
  if (!sdkDir) return null
  const binaryPackage = `${SDK}-${process.platform}-${process.arch}`
  const binaryPackageDir = packageDir(binaryPackage)
  const binary = binaryPackageDir ? join(binaryPackageDir, 'claude') : null
  if (!binaryPackageDir || !binary || !existsSync(binary)) return null
  const version = (dir: string) => (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  return {
    sdkDir,
    sdkVersion: version(sdkDir),
    binaryPackage,
    binaryPackageDir,
    binary,
    binaryVersion: version(binaryPackageDir),
    binarySize: statSync(binary).size,
  }
}

/** Copies the SDK and its binary package into the image's /app/node_modules. */
export function assembleClaudeCode(root: string, plan: ClaudeCodePlan): void {
  cpSync(plan.sdkDir, join(root, 'app/node_modules', SDK), { recursive: true, dereference: true })
  const target = join(root, 'app/node_modules', plan.binaryPackage)
  cpSync(plan.binaryPackageDir, target, { recursive: true, dereference: true })
  // The sandbox user (uid 1000) runs it.
  chmodSync(join(target, 'claude'), 0o755)
}

export function claudeCodeFingerprint(plan: ClaudeCodePlan | null): string {
  return plan ? JSON.stringify({ sdk: plan.sdkVersion, binary: plan.binaryVersion, size: plan.binarySize }) : 'no-claude-code'
}
