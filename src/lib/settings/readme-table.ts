/**
 * README's configuration table, generated from the list (schema.ts): `npm run settings:readme`
 * writes it between the markers; test/lib/settings/readme-table.test.ts fails when they differ.
 */
import { VARIABLES, type Variable } from './schema'

export const TABLE_BEGIN = '<!-- settings:begin (generated from src/lib/settings/schema.ts: npm run settings:readme) -->'
export const TABLE_END = '<!-- settings:end -->'

export function readmeTable(): string {
  const rows = (Object.entries(VARIABLES) as [string, Variable][])
    .filter(([, v]) => v.readme !== false)
    .map(([name, v]) => `| \`${name}\` | ${v.default} | ${v.doc} |`)
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n')
}

/** `readme` with the text between the markers replaced by the table. */
export function withReadmeTable(readme: string): string {
  const begin = readme.indexOf(TABLE_BEGIN)
  const end = readme.indexOf(TABLE_END)
  if (begin < 0 || end < begin) throw new Error(`README has no ${TABLE_BEGIN} … ${TABLE_END} block`)
  return `${readme.slice(0, begin + TABLE_BEGIN.length)}\n${readmeTable()}\n${readme.slice(end)}`
}
