import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readmeTable, TABLE_BEGIN, TABLE_END } from '../../../src/lib/settings/readme-table'
import { VARIABLES, type Variable } from '../../../src/lib/settings/schema'

const readme = readFileSync(resolve(import.meta.dirname, '../../../README.md'), 'utf8')
const block = readme.slice(readme.indexOf(TABLE_BEGIN) + TABLE_BEGIN.length, readme.indexOf(TABLE_END)).trim()
/** variable → default cell, as README's table has them. */
const rows = new Map(
  block
    .split('\n')
    .slice(2)
    .map((line) => line.split('|').map((c) => c.trim()))
    .map((cells) => [cells[1]!.replace(/`/g, ''), cells[2]!] as const),
)

describe("README's configuration table", () => {
  it('is the table generated from the list (npm run settings:readme)', () => {
    expect(readme).toContain(TABLE_BEGIN)
    expect(block).toBe(readmeTable())
  })

  it('has every operator variable of the list with the same default, and no variable the list lacks', () => {
    const listed = (Object.entries(VARIABLES) as [string, Variable][]).filter(([, v]) => v.readme !== false)
    for (const [name, v] of listed) expect(rows.get(name), name).toBe(v.default)
    for (const name of rows.keys()) expect(Object.keys(VARIABLES)).toContain(name)
    expect(rows.size).toBe(listed.length)
  })

  it('leaves out only variables marked as tests or tooling', () => {
    const left = (Object.entries(VARIABLES) as [string, Variable][]).filter(([, v]) => v.readme === false)
    for (const [name, v] of left) expect(v.readers, name).toContain('tests')
  })
})
