/**
 * Issue #8, private files and links, through the production build: the data dir and the files
 * holding sessions, signing keys and the token secret are owner-only even under `umask 000`; the
 * start-up log carries a one-time admin link (15 minutes, one use), never a token; pages and API
 * answers carry the security headers.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { loginCodeStore } from '../../src/lib/sessions/login-links'

const ROOT = resolve(import.meta.dirname, '../..')
const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]+/
const mode = (path: string) => statSync(path).mode & 0o777
const octal = (m: number) => m.toString(8).padStart(4, '0')

let server: ProductionServer

function printedCodes(): string[] {
  return [...server.output().matchAll(/Tether admin link[^\n]*?\/\?code=([\w-]+)/g)].map((m) => m[1]!)
}

async function exchange(code: string): Promise<{ status: number; body: { ok?: boolean; token?: string; error?: string } }> {
  const res = await fetch(`${server.url}/api/auth/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  })
  return { status: res.status, body: (await res.json()) as { ok?: boolean; token?: string; error?: string } }
}

async function listSessions(token: string): Promise<number> {
  const res = await fetch(`${server.url}/api/sessions`, { headers: { authorization: `Bearer ${token}` } })
  await res.arrayBuffer()
  return res.status
}

beforeAll(async () => {
  // No TETHER_SECRET: the server creates <dataDir>/secret itself. LOG_LEVEL=info: the link is an info line.
  server = await startProductionServer({ LOG_LEVEL: 'info', TETHER_WORKERS: 'off' }, { umask: '000' })
}, 180_000)

afterAll(async () => {
  await server?.dispose()
})

describe('files (server started under umask 000)', () => {
  it('the data dir is 0700 and tether.db, -wal, -shm, secret and login-codes.json are 0600', async () => {
    // A write, so the WAL has content (SQLite creates -wal and -shm from the main file's mode).
    const { body } = await exchange(printedCodes()[0]!)
    const created = await fetch(`${server.url}/api/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${body.token}` },
      body: JSON.stringify({ title: 'modes', pattern: 'long-running' }),
    })
    expect(created.status).toBe(201)
    const files = ['tether.db', 'tether.db-wal', 'tether.db-shm', 'secret', 'login-codes.json'].map((f) => join(server.dataDir, f))
    const modes = Object.fromEntries([server.dataDir, ...files].map((p) => [p, existsSync(p) ? octal(mode(p)) : 'missing']))
    expect(modes).toEqual(Object.fromEntries([[server.dataDir, '0700'], ...files.map((f) => [f, '0600'])]))
  })

  it('login-codes.json holds hashes, never a usable code', () => {
    const stored = readFileSync(join(server.dataDir, 'login-codes.json'), 'utf8')
    const codes = printedCodes()
    expect(codes.length).toBeGreaterThan(0)
    for (const code of codes) expect(stored).not.toContain(code)
  })

  it('an existing install with loose modes is made private again at start, and a used code stays used', async () => {
    const used = printedCodes()[0]!
    await server.stop()
    chmodSync(server.dataDir, 0o755)
    for (const f of ['tether.db', 'secret', 'login-codes.json']) chmodSync(join(server.dataDir, f), 0o644)
    await server.restart()
    expect(octal(mode(server.dataDir))).toBe('0700')
    for (const f of ['tether.db', 'tether.db-shm', 'secret', 'login-codes.json'])
      expect(octal(mode(join(server.dataDir, f))), f).toBe('0600')
    const again = await exchange(used)
    expect(again.status).toBe(401)
    expect(again.body.error).toContain('already used')
  }, 120_000)
})

describe('the start-up admin link', () => {
  it('the server output contains no token, only a one-time code link', () => {
    const out = server.output()
    expect(out).not.toMatch(JWT)
    expect(out).not.toContain('?token=')
    expect(printedCodes()[0]).toMatch(/^[\w-]{40,}$/)
  })

  it('works once: the code becomes an admin token that lists sessions; a second use is 401 with the way out', async () => {
    const codes = printedCodes()
    const code = codes[codes.length - 1]! // minted by the restart above, still unused
    const first = await exchange(code)
    expect(first.status).toBe(200)
    expect(first.body.token).toMatch(JWT)
    expect(await listSessions(first.body.token!)).toBe(200)

    const second = await exchange(code)
    expect(second.status).toBe(401)
    expect(second.body.error).toBe('this link was already used; run `npm run tether -- link` for a new one')
  })

  it('opening the link (GET) does not use it up: only the page exchange does', async () => {
    const { code } = loginCodeStore(server.dataDir).mint()
    const page = await fetch(`${server.url}/?code=${code}`, { headers: { accept: 'text/html' } })
    expect(page.status).toBe(200)
    await page.arrayBuffer()
    expect((await exchange(code)).status).toBe(200)
  })

  it('an expired code fails with 401 and says so', async () => {
    const store = loginCodeStore(server.dataDir, () => Date.now() - 16 * 60_000)
    const { code } = store.mint()
    const res = await exchange(code)
    expect(res.status).toBe(401)
    expect(res.body.error).toContain('expired')
  })

  it('a guessed code, a missing code and a GET are refused with a reason', async () => {
    const guessed = await exchange('A'.repeat(43))
    expect(guessed.status).toBe(401)
    expect(guessed.body.error).toContain('not valid')
    const missing = await fetch(`${server.url}/api/auth/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(missing.status).toBe(400)
    expect(((await missing.json()) as { error: string }).error).toContain('code')
    const viaGet = await fetch(`${server.url}/api/auth/exchange?code=x`)
    expect(viaGet.status).toBeGreaterThanOrEqual(400)
    expect(viaGet.status).toBeLessThan(500)
    await viaGet.arrayBuffer()
  })

  it('`npm run tether -- link` mints a link the running server accepts, printing no token', async () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/server/cli.ts', 'link'], {
      cwd: ROOT,
      env: { ...process.env, TETHER_DATA_DIR: server.dataDir, PORT: String(server.port), HOST: '127.0.0.1' },
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout + run.stderr).not.toMatch(JWT)
    const link = new URL(run.stdout.trim())
    expect(link.origin).toBe(server.url)
    const res = await exchange(link.searchParams.get('code')!)
    expect(res.status).toBe(200)
    expect(await listSessions(res.body.token!)).toBe(200)
  })
})

describe('security headers', () => {
  it('pages carry a nonce CSP with frame-ancestors none, no-referrer and nosniff, and every inline script has the nonce', async () => {
    const res = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })
    const html = await res.text()
    expect(res.headers.get('content-type')).toContain('text/html')
    const csp = res.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).not.toContain("'unsafe-inline' 'unsafe-eval'")
    const nonce = /script-src 'self' 'nonce-([^']+)'/.exec(csp)?.[1]
    expect(nonce, csp).toBeTruthy()
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/)
    expect(res.headers.get('referrer-policy')).toBe('no-referrer')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const scripts = [...html.matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]!)
    expect(scripts.length).toBeGreaterThan(0)
    for (const attrs of scripts.filter((a) => !/\bsrc=/.test(a))) expect(attrs).toContain(`nonce="${nonce}"`)
    // A fresh nonce per response.
    const again = await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })
    await again.arrayBuffer()
    expect(again.headers.get('content-security-policy')).not.toBe(csp)
  })

  it('API answers and static files carry nosniff and no-referrer', async () => {
    const api = await fetch(`${server.url}/api/sessions`)
    await api.arrayBuffer()
    expect(api.status).toBe(401)
    expect(api.headers.get('x-content-type-options')).toBe('nosniff')
    expect(api.headers.get('referrer-policy')).toBe('no-referrer')
    const html = await (await fetch(`${server.url}/`, { headers: { accept: 'text/html' } })).text()
    const asset = /(?:src|href)="(\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(asset).toBeTruthy()
    const file = await fetch(`${server.url}${asset}`)
    await file.arrayBuffer()
    expect(file.status).toBe(200)
    expect(file.headers.get('x-content-type-options')).toBe('nosniff')
  })
})
