import { readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../../..')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return sources(path)
    return /\.(ts|tsx)$/.test(e.name) ? [path] : []
  })
}

/** The front door and the entry points that hand process.env to it. */
const allowed = (file: string) =>
  file.startsWith('src/lib/settings/') || /^src\/server\/[^/]+\.ts$/.test(file) || file === 'src/worker/main.ts'

describe('configuration has one front door', () => {
  it('no file in src/ reads process.env outside src/lib/settings and the entry points', () => {
    const readers = sources(join(root, 'src'))
      .map((f) => relative(root, f))
      .filter((f) => !allowed(f))
      .filter((f) => /process\.env\b(?!\s*\.\w+\s*=(?!=))/.test(readFileSync(join(root, f), 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '')))
    expect(readers).toEqual([])
  })
})
