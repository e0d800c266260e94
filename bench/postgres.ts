/**
 * The `ours-postgres` server kind's database: one PostgreSQL database per data dir on Tether's
 * own test cluster (scripts/postgres.sh, as `npm test` starts it), created on first use, so a
 * server restarted on the same data dir (the SIGKILL durability test) finds its streams again.
 */
import { createHash } from 'node:crypto'
import postgres from 'postgres'
import { preparePostgres } from '../test/support/postgres'

export async function postgresDatabaseFor(dataDir: string): Promise<string> {
  const base = preparePostgres()
  const name = `tether_b_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  try {
    const found = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`
    if (found.length === 0) await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  const url = new URL(base)
  url.pathname = `/${name}`
  return url.toString()
}

/** Drops the data dir's database (after a run). */
export async function dropPostgresDatabaseFor(dataDir: string): Promise<void> {
  const base = preparePostgres()
  const name = `tether_b_${createHash('sha256').update(dataDir).digest('hex').slice(0, 16)}`
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end({ timeout: 5 })
  }
}
