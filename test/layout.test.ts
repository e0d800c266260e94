import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

// Issue #9's house rules, checked on the tree itself: small files, and no import cycles (Biome's
// noImportCycles finds those when `npm run lint` runs; this test keeps the rule from being dropped).
const root = join(import.meta.dirname, '..')
const MAX_LINES = 400
const GENERATED = new Set(['src/app/routeTree.gen.ts'])

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`
    if (e.isDirectory()) return sourceFiles(path)
    return /\.(ts|tsx)$/.test(e.name) && !GENERATED.has(path) ? [path] : []
  })
}

describe('repository layout', () => {
  it(`keeps every source file under ${MAX_LINES} lines (generated code and CSS aside)`, () => {
    const files = sourceFiles('src')
    expect(files.length).toBeGreaterThan(50)
    const long = files
      .map((file) => ({ file, lines: readFileSync(join(root, file), 'utf8').trimEnd().split('\n').length }))
      .filter((f) => f.lines > MAX_LINES)
    expect(long).toEqual([])
  })

  it('has the import-cycle lint rule on, type-only imports included', () => {
    // biome.jsonc: whole-line // comments only, so dropping those lines leaves plain JSON.
    const biome = JSON.parse(readFileSync(join(root, 'biome.jsonc'), 'utf8').replace(/^\s*\/\/.*$/gm, ''))
    expect(biome.linter.rules.suspicious.noImportCycles).toMatchObject({ level: 'error', options: { ignoreTypes: false } })
    expect(biome.files.includes).not.toContain('!src')
  })
})
