/**
 * `npm run tether -- …` with TETHER_DATABASE_URL (issue 14): `link` mints its one-time code into
 * the database, so an app node redeems it; `token` refuses without the nodes' shared secret (a
 * data-dir secret would sign tokens no node accepts); backup and restore refuse (they copy the
 * SQLite file; PostgreSQL has its own tools).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openTetherServer, type TetherServer } from '../../src/lib/tether-server'
import { pgNodeSessions, SHARED_NODE_SECRETS } from '../support/app-config'
import { freshDatabase, type TestDatabase } from '../support/postgres'

const ROOT = resolve(import.meta.dirname, '../..')
const SECRET = SHARED_NODE_SECRETS.secret
let db: TestDatabase
let dataDir: string
let app: TetherServer

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, TETHER_DATA_DIR: dataDir, TETHER_DATABASE_URL: db.url, TETHER_SECRET: SECRET, ...env },
    encoding: 'utf8',
  })
}

beforeAll(async () => {
  db = await freshDatabase()
  dataDir = mkdtempSync(join(tmpdir(), 'tether-cli-pg-'))
  app = await openTetherServer({
    dataDir,
    databaseUrl: db.url,
    logger: pino({ level: 'silent' }),
    sweepIntervalMs: 0,
    sessions: pgNodeSessions(),
  })
}, 60_000)

afterAll(async () => {
  await app?.close()
  await db?.drop()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('the CLI on PostgreSQL', () => {
  it('link mints a code into the database that an app node exchanges once', async () => {
    const run = cli(['link'])
    expect(run.status, run.stderr).toBe(0)
    const code = new URL(run.stdout.trim()).searchParams.get('code')!
    const exchange = () =>
      app.fetch(new Request('http://app/api/auth/exchange', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) }))
    expect((await exchange()).status).toBe(200)
    expect((await exchange()).status).toBe(401)
  })

  it('token signs with the shared secret, and refuses without it', async () => {
    const signed = cli(['token', '--role', 'admin'])
    expect(signed.status, signed.stderr).toBe(0)
    const res = await app.fetch(new Request('http://app/api/sessions', { headers: { authorization: `Bearer ${signed.stdout.trim()}` } }))
    expect(res.status).toBe(200)
    const refused = cli(['token', '--role', 'admin'], { TETHER_SECRET: undefined })
    expect(refused.status).toBe(2)
    expect(refused.stderr).toContain('TETHER_SECRET')
  })

  it('backup and restore refuse and name the tools to use', () => {
    for (const command of ['backup', 'restore']) {
      const run = cli([command, join(dataDir, 'copy.db')])
      expect(run.status).toBe(2)
      expect(run.stderr).toContain('pg_dump')
    }
  })
})
