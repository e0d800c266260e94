/**
 * `npm run tether -- backup` during a write load and `restore` into a fresh data dir: every
 * stream reads back byte-equal to what the live server held at one instant between the backup's
 * start and end (issue #12 bar 4). Real parts: the production server, the CLI as a child process,
 * SQLite files, HTTP on loopback.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStreamsHttpServer, type StreamsHttpServer } from '../../../src/lib/streams'
import { issueToken, secretFromString } from '../../../src/lib/sessions/tokens'
import { freePort, startProductionServer, type ProductionServer } from '../../support/production-server'

const root = resolve(import.meta.dirname, '../../..')
const SECRET = 'backup-test-secret-0123456789abcdef'
const STREAMS = 6

let server: ProductionServer
let admin: string
const scratch = mkdtempSync(join(tmpdir(), 'tether-backup-test-'))

function cli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.on('data', (c: Buffer) => (out += c.toString()))
    child.stderr.on('data', (c: Buffer) => (out += c.toString()))
    child.once('exit', (code) => done({ code: code ?? -1, out }))
  })
}

const streamUrl = (base: string, i: number) => `${base}/stream-${i}`

beforeAll(async () => {
  server = await startProductionServer({ TETHER_SECRET: SECRET, TETHER_WORKERS: 'off', TETHER_MONITOR_INTERVAL_MS: '0' })
  admin = await issueToken(secretFromString(SECRET), { role: 'admin', subject: 'ops' })
})
afterAll(async () => {
  await server?.dispose()
  rmSync(scratch, { recursive: true, force: true })
})

describe('backup and restore', () => {
  it('a backup taken under write load restores to streams byte-equal to one instant of the live ones', async () => {
    const base = `${server.url}/api/streams/backup-test`
    const auth = { authorization: `Bearer ${admin}` }
    for (let i = 0; i < STREAMS; i++) {
      const res = await fetch(streamUrl(base, i), { method: 'PUT', headers: { ...auth, 'content-type': 'text/plain' } })
      expect(res.status).toBe(201)
    }
    // One writer per stream, each append acknowledged before the next: acked[i] = appends acknowledged.
    const acked = new Array<number>(STREAMS).fill(0)
    let writing = true
    const writers = Array.from({ length: STREAMS }, async (_, i) => {
      while (writing) {
        const n = acked[i]
        const res = await fetch(streamUrl(base, i), {
          method: 'POST',
          headers: { ...auth, 'content-type': 'text/plain' },
          body: `s${i}-${n}:${'x'.repeat(n % 97)}\n`,
        })
        expect(res.status).toBe(204)
        acked[i] = n + 1
      }
    })
    while (acked.some((n) => n < 50)) await new Promise((r) => setTimeout(r, 20))

    const file = join(scratch, 'tether-backup.db')
    const ackedBefore = [...acked]
    const backup = await cli(['backup', file], { TETHER_DATA_DIR: server.dataDir })
    const ackedAfter = [...acked]
    writing = false
    await Promise.all(writers)
    expect(backup.code, backup.out).toBe(0)
    expect(backup.out).toMatch(/backed up \d+ streams/)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    // Writes went on while it ran.
    expect(acked.reduce((a, b) => a + b)).toBeGreaterThan(ackedBefore.reduce((a, b) => a + b))

    // Restore into a fresh data dir (nothing listens on its port), then read it with a streams server.
    const dataDir = join(scratch, 'restored')
    const restore = await cli(['restore', file], { TETHER_DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' })
    expect(restore.code, restore.out).toBe(0)
    const restored: StreamsHttpServer = await startStreamsHttpServer({ file: join(dataDir, 'tether.db'), basePath: '/api/streams' })
    try {
      for (let i = 0; i < STREAMS; i++) {
        const live = await (await fetch(`${streamUrl(base, i)}?offset=-1`, { headers: auth })).text()
        const back = await (await fetch(`${streamUrl(`${restored.url}/api/streams/backup-test`, i)}?offset=-1`)).text()
        // Byte-equal to the live stream up to the backup point: a prefix of whole appends...
        expect(live.startsWith(back), `stream ${i}`).toBe(true)
        const appends = back === '' ? 0 : back.split('\n').length - 1
        expect(back.endsWith('\n') || back === '').toBe(true)
        // ...holding everything acknowledged before the backup began, nothing acknowledged after it ended.
        expect(appends).toBeGreaterThanOrEqual(ackedBefore[i])
        expect(appends).toBeLessThanOrEqual(ackedAfter[i] + 1)
      }
    } finally {
      await restored.close()
    }
  })

  it('restore refuses while the server answers, and refuses a file that is not a Tether database', async () => {
    const file = join(scratch, 'second.db')
    expect((await cli(['backup', file], { TETHER_DATA_DIR: server.dataDir })).code).toBe(0)
    const running = await cli(['restore', file], { TETHER_DATA_DIR: server.dataDir, PORT: String(server.port), HOST: '127.0.0.1' })
    expect(running.code).toBe(1)
    expect(running.out).toMatch(/the server is running: stop it, restore, then start it again/)
    // The live server is untouched and still serves.
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200)

    const junk = join(scratch, 'junk.db')
    writeFileSync(junk, 'not a database at all')
    const bad = await cli(['restore', junk], { TETHER_DATA_DIR: join(scratch, 'other'), PORT: String(await freePort()) })
    expect(bad.code).toBe(1)
    expect(bad.out).toMatch(/not an SQLite database|not a readable database/)
    const usage = await cli(['backup'], { TETHER_DATA_DIR: server.dataDir })
    expect(usage.code).toBe(2)
    expect(usage.out).toMatch(/backup takes one file name/)
  })
})
