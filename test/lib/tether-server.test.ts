import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import Database from 'better-sqlite3'
import pino from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { createTetherServer, tetherConfigFrom, type TetherServer } from '../../src/lib/tether-server'
import { getTetherServer } from '../../src/lib/tether-server-entry'
import { loadSettings } from '../../src/lib/settings'
import { testSessionsConfig } from '../support/app-config'

const run = promisify(execFile)
const quiet = pino({ level: 'silent' })
const tempDir = () => mkdtempSync(join(tmpdir(), 'tether-app-'))
const sessionsConfig = testSessionsConfig

describe('createTetherServer', () => {
  const apps: TetherServer[] = []
  afterAll(async () => {
    for (const a of apps) await a.close()
  })

  it('keeps sessions and streams in one SQLite file in the data dir, with a generated secret', async () => {
    const dataDir = tempDir()
    const app = createTetherServer({ dataDir, sessions: sessionsConfig(), logger: quiet, sweepIntervalMs: 0 })
    apps.push(app)
    const token = await app.issueToken({ role: 'admin' })
    const res = await app.fetch(
      new Request('http://app/api/sessions', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' }),
    )
    expect(res.status).toBe(201)
    const { session } = (await res.json()) as { session: { id: string } }
    expect(existsSync(join(dataDir, 'secret'))).toBe(true)
    const db = new Database(join(dataDir, 'tether.db'), { readonly: true })
    expect(db.prepare('select count(*) as n from sessions where id = ?').get(session.id)).toEqual({ n: 1 })
    expect(db.prepare('select count(*) as n from streams where path = ?').get(`sessions/${session.id}`)).toEqual({ n: 1 })
    db.close()
  })

  it('answers unknown paths with a JSON 404 and CORS preflights with 204', async () => {
    const app = createTetherServer({ dataDir: tempDir(), sessions: sessionsConfig(), logger: quiet, sweepIntervalMs: 0 })
    apps.push(app)
    const res = await app.fetch(new Request('http://app/api/nothing'))
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ ok: false })
    expect((await app.fetch(new Request('http://app/api/streams?sessionId=x', { method: 'OPTIONS' }))).status).toBe(204)
    expect((await app.fetch(new Request('http://app/api/sessions/x', { method: 'OPTIONS' }))).status).toBe(204)
  })

  it('answers 502 when the external streams server cannot be reached', async () => {
    const app = createTetherServer({
      dataDir: tempDir(),
      sessions: sessionsConfig({ streamsUrl: 'http://127.0.0.1:9/nowhere' }),
      logger: quiet,
    })
    apps.push(app)
    const token = await app.issueToken({ role: 'admin' })
    const res = await app.fetch(
      new Request('http://app/api/sessions', { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' }),
    )
    expect(res.status).toBe(502)
    expect(await res.json()).toMatchObject({ error: 'streams backend unreachable' })
  })

  it('accepts tokens printed by `npm run tether -- token` for the same data dir', async () => {
    const dataDir = tempDir()
    const app = createTetherServer({ dataDir, sessions: sessionsConfig(), logger: quiet, sweepIntervalMs: 0 })
    apps.push(app)
    const root = resolve(import.meta.dirname, '../..')
    const tsx = join(root, 'node_modules/.bin/tsx')
    const { TETHER_SECRET: _unused, ...inherited } = process.env
    const env = { ...inherited, TETHER_DATA_DIR: dataDir }
    const { stdout } = await run(tsx, ['src/server/cli.ts', 'token', '--role', 'admin'], { cwd: root, env })
    const res = await app.fetch(new Request('http://app/api/sessions', { headers: { authorization: `Bearer ${stdout.trim()}` } }))
    expect(res.status).toBe(200)
    await expect(run(tsx, ['src/server/cli.ts', 'token', '--role', 'viewer'], { cwd: root, env })).rejects.toMatchObject({ code: 2 })
  })
})

describe('getTetherServer', () => {
  it('builds one app from the environment and hands out the same one', async () => {
    const dataDir = tempDir()
    process.env.TETHER_DATA_DIR = dataDir
    process.env.TETHER_SECRET = 'singleton-secret-1234567890'
    process.env.TETHER_MONITOR_INTERVAL_MS = '0'
    process.env.LOG_LEVEL = 'silent'
    expect(tetherConfigFrom(loadSettings(process.env)).dataDir).toBe(dataDir)
    const opening = getTetherServer()
    expect(getTetherServer()).toBe(opening)
    const app = await opening
    const token = await app.issueToken({ role: 'admin' })
    const res = await app.fetch(new Request('http://app/api/sessions/stats', { headers: { authorization: `Bearer ${token}` } }))
    expect(res.status).toBe(200)
    expect(existsSync(join(dataDir, 'tether.db'))).toBe(true)
    await app.close()
  })
})
