/**
 * A real PostgreSQL for tests: scripts/postgres.sh installs and starts Tether's own cluster when
 * needed (as `npm test` does), and each caller gets a fresh database of its own, dropped after.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { resolve } from 'node:path'
import postgres from 'postgres'

let serverUrl: string | null = null

/** The cluster's URL (its `postgres` database), starting the cluster on first use. */
export function preparePostgres(): string {
  if (serverUrl) return serverUrl
  const out = execFileSync('bash', [resolve(import.meta.dirname, '../../scripts/postgres.sh')], { encoding: 'utf8', timeout: 600_000 })
  const m = /^TETHER_TEST_DATABASE_URL=(\S+)$/m.exec(out)
  if (!m) throw new Error(`scripts/postgres.sh printed no URL:\n${out}`)
  serverUrl = m[1]!
  return serverUrl
}

export interface TestDatabase {
  url: string
  drop(): Promise<void>
}

/** A new, empty database on the test cluster. */
export async function freshDatabase(): Promise<TestDatabase> {
  const base = preparePostgres()
  const name = `tether_t_${randomBytes(6).toString('hex')}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  const url = new URL(base)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} })
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await a.end({ timeout: 5 })
      }
    },
  }
}
