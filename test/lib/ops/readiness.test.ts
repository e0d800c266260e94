/**
 * `GET /api/ready` on a real app (real SQLite file in a temp data dir): 200 with each check named
 * when all is well; 503 naming the failing check when the database cannot take a write lock,
 * when a migration is missing, or when the workers' side reports a problem.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { ReadinessReport } from '../../../src/lib/ops/readiness'
import type { SessionWorkerCallbacks } from '../../../src/lib/sessions/worker-callbacks'

const quiet = pino({ level: 'silent' })
const apps: TetherServer[] = []
afterAll(async () => {
  for (const a of apps) await a.close()
})

function app(workers?: SessionWorkerCallbacks): { app: TetherServer; dataDir: string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-ready-'))
  const a = createTetherServer(
    {
      dataDir,
      logger: quiet,
      sweepIntervalMs: 0,
      sessions: { auth: true, monitorIntervalMs: 0, ephemeralRemoveAfterMs: 60_000, retentionDays: 30, maxEventBodyBytes: 1 << 20, defaultLimits: {} },
    },
    workers,
  )
  apps.push(a)
  return { app: a, dataDir }
}

async function ready(a: TetherServer): Promise<{ status: number; body: ReadinessReport }> {
  const res = await a.fetch(new Request('http://app/api/ready'))
  return { status: res.status, body: (await res.json()) as ReadinessReport }
}

describe('GET /api/ready', () => {
  it('answers 200 with every check named when the database is writable and migrated', async () => {
    const { app: a } = app()
    const { status, body } = await ready(a)
    expect(status).toBe(200)
    expect(body.ok).toBe(true)
    expect(body.checks.map((c) => c.name)).toEqual(['database', 'migrations'])
    expect(body.checks.every((c) => c.ok)).toBe(true)
  })

  it('answers 503 naming the database when another writer holds the write lock', async () => {
    const { app: a, dataDir } = app()
    const other = new Database(join(dataDir, 'tether.db'))
    other.pragma('busy_timeout = 0')
    other.exec('BEGIN IMMEDIATE')
    try {
      const { status, body } = await ready(a)
      expect(status).toBe(503)
      expect(body.ok).toBe(false)
      const db = body.checks.find((c) => c.name === 'database')
      expect(db?.ok).toBe(false)
      expect(db?.detail).toMatch(/cannot take the write lock: database is locked/)
    } finally {
      other.exec('ROLLBACK')
      other.close()
    }
    expect((await ready(a)).status).toBe(200)
  })

  it('answers 503 naming the migrations when one is not applied', async () => {
    const { app: a, dataDir } = app()
    const db = new Database(join(dataDir, 'tether.db'))
    db.exec('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)')
    db.close()
    const { status, body } = await ready(a)
    expect(status).toBe(503)
    const migrations = body.checks.find((c) => c.name === 'migrations')
    expect(migrations?.ok).toBe(false)
    expect(migrations?.detail).toMatch(/^\d+ of \d+ applied: restart to migrate$/)
  })

  it("includes the workers' checks and fails with them", async () => {
    const { app: a } = app({ readiness: async () => [{ name: 'docker', ok: false, detail: 'Docker Engine unreachable' }] })
    const { status, body } = await ready(a)
    expect(status).toBe(503)
    expect(body.checks.at(-1)).toEqual({ name: 'docker', ok: false, detail: 'Docker Engine unreachable' })
    expect(body.checks.filter((c) => c.ok).map((c) => c.name)).toEqual(['database', 'migrations'])
  })
})
