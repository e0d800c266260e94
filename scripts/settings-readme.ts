/** `npm run settings:readme`: regenerates README's configuration table from src/lib/settings/schema.ts. */
import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { withReadmeTable } from '../src/lib/settings/readme-table'

const file = resolve(import.meta.dirname, '../README.md')
const before = readFileSync(file, 'utf8')
const after = withReadmeTable(before)
if (after !== before) writeFileSync(file, after)
console.log(after === before ? 'README configuration table is up to date' : 'README configuration table regenerated')
