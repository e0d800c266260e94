/**
 * Browser-test support: the real production server (child process, free port, temp data dir,
 * a known token secret so tests can sign tokens), Debian chromium through playwright-core, and
 * small helpers to act as a worker or an admin over the real HTTP API.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core'
import { afterAll, beforeAll } from 'vitest'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { issueToken, secretFromString, type Role } from '../../src/lib/sessions/tokens'

const ROOT = resolve(import.meta.dirname, '../..')
export const ARTIFACTS = resolve(ROOT, 'artifacts/screenshots')

function newestMtime(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = 0
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)))
  return newest
}

function buildIsStale(): boolean {
  const built = join(ROOT, 'dist/server/server.js')
  if (!existsSync(built)) return true
  const sources = Math.max(
    newestMtime(join(ROOT, 'src')),
    newestMtime(join(ROOT, 'vite.config.ts')),
    newestMtime(join(ROOT, 'package-lock.json')),
  )
  return sources > statSync(built).mtimeMs
}

/**
 * `npm test` builds before vitest; when a browser test runs by hand, build here if dist/ is
 * missing or older than the sources. A lock directory keeps parallel test files from building
 * into dist/ at the same time.
 */
export async function ensureFreshBuild(): Promise<void> {
  if (!buildIsStale()) return
  const lock = join(tmpdir(), `tether-vite-build-${Buffer.from(ROOT).toString('hex').slice(-16)}.lock`)
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      // A lock left by a killed build is older than any real build takes.
      const held = statSync(lock, { throwIfNoEntry: false })
      if (held && Date.now() - held.mtimeMs > 10 * 60_000) rmdirSync(lock)
      await new Promise((r) => setTimeout(r, 500))
    }
  }
  try {
    if (!buildIsStale()) return
    // vitest sets NODE_ENV=test; a build inheriting it would ship React's development build.
    const built = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], {
      cwd: ROOT,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    })
    if (built.status !== 0) throw new Error('vite build failed')
  } finally {
    rmdirSync(lock)
  }
}

export interface TestServer extends ProductionServer {
  secret: string
  token(role: Role, sessionId?: string, subject?: string, name?: string): Promise<string>
  /** resolves once the server answers HTTP again (after a restart) */
  waitUntilServing(): Promise<void>
}

export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  await ensureFreshBuild()
  // Nodes of one cluster share their secret (TETHER_SECRET in env); otherwise each server has its own.
  const secret = env.TETHER_SECRET ?? randomBytes(24).toString('base64url')
  const server = await startProductionServer({ TETHER_SECRET: secret, ...env })
  const sign = (role: Role, sessionId?: string, subject?: string, name?: string) =>
    issueToken(secretFromString(secret), { role, sessionId, subject, name })
  return Object.assign(server, {
    secret,
    token: sign,
    async waitUntilServing() {
      for (let i = 0; i < 600; i++) {
        try {
          const res = await fetch(`${server.url}/api/sessions/stats`)
          await res.arrayBuffer()
          return
        } catch {
          await new Promise((r) => setTimeout(r, 100))
        }
      }
      throw new Error(`server did not come back:\n${server.output()}`)
    },
  })
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    // Without these chromium keeps calling home on a machine with no network.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  })
}

export async function newPage(
  browser: Browser,
  options: { width?: number; height?: number; dark?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1366, height: options.height ?? 860 },
    colorScheme: options.dark ? 'dark' : 'light',
    deviceScaleFactor: 1,
  })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.setDefaultTimeout(60_000)
  return { context, page, errors }
}

// ------------------------------------------------------------------------------------------
// API helpers (what an admin or a worker would do)
// ------------------------------------------------------------------------------------------
export interface CreatedSession {
  id: string
  shareUrl: string
  shareToken: string
}

async function api<T>(server: TestServer, path: string, token: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} → ${res.status}: ${text}`)
  return (text ? JSON.parse(text) : undefined) as T
}

export async function createSession(
  server: TestServer,
  admin: string,
  title = 'Test session',
  extra: Record<string, unknown> = {},
): Promise<CreatedSession> {
  const body = await api<{ session: { id: string }; shareUrl: string; shareToken: string }>(server, '/api/sessions', admin, {
    method: 'POST',
    body: JSON.stringify({ title, pattern: 'long-running', agent: { provider: 'echo', model: 'echo' }, ...extra }),
  })
  return { id: body.session.id, shareUrl: body.shareUrl, shareToken: body.shareToken }
}

export async function terminateSession(server: TestServer, admin: string, sessionId: string): Promise<void> {
  await api(server, `/api/sessions/${sessionId}/terminate`, admin, { method: 'POST', body: '{}' })
}

export interface EventInput {
  channel: string
  data: Record<string, unknown>
}

export async function writeEvents(
  server: TestServer,
  token: string,
  sessionId: string,
  events: EventInput | EventInput[],
): Promise<string> {
  const body = await api<{ offset: string }>(server, `/api/streams?sessionId=${encodeURIComponent(sessionId)}`, token, {
    method: 'POST',
    body: JSON.stringify(events),
  })
  return body.offset
}

/** Reads the session stream from the start (catch-up, not live). */
export async function readStream(
  server: TestServer,
  token: string,
  sessionId: string,
): Promise<Array<{ type: string; key: string; value?: Record<string, unknown> }>> {
  const events: Array<{ type: string; key: string; value?: Record<string, unknown> }> = []
  let offset = '-1'
  for (;;) {
    const res = await fetch(`${server.url}/api/streams/sessions/${sessionId}?offset=${encodeURIComponent(offset)}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    if (!res.ok) throw new Error(`read ${res.status}: ${await res.text()}`)
    const items = (await res.json()) as typeof events
    events.push(...items)
    offset = res.headers.get('stream-next-offset') ?? offset
    if (res.headers.has('stream-up-to-date') || items.length === 0) return events
  }
}

/** A stand-in for the worker's message streaming: writes an assistant message word by word. */
export async function streamAssistantMessage(
  server: TestServer,
  workerToken: string,
  sessionId: string,
  messageId: string,
  text: string,
  agentId = 'agent-test',
  from = 0,
  to?: number,
): Promise<void> {
  const words = text.split(' ')
  const end = to ?? words.length
  for (let i = from; i < end; i++) {
    await writeEvents(server, workerToken, sessionId, {
      channel: 'chunk',
      data: {
        messageId,
        role: 'assistant',
        author: agentId,
        turn: 1,
        seq: i,
        delta: (i ? ' ' : '') + words[i],
        done: i === words.length - 1,
      },
    })
  }
}

// ------------------------------------------------------------------------------------------
// Page helpers
// ------------------------------------------------------------------------------------------
export async function until(page: Page, what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      if (await fn()) return
    } catch (err) {
      last = err
    }
    await page.waitForTimeout(100)
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`)
}

/**
 * Opens the home page's "New session" dialog. A click that lands before the page has hydrated
 * has no handler yet and is lost (a loaded machine hydrates late), so it clicks until it opens.
 */
export async function openNewSessionDialog(page: Page): Promise<Locator> {
  const dialog = page.locator('[data-testid="new-session-form"]')
  await until(page, 'the new-session dialog to open', async () => {
    if (await dialog.isVisible()) return true
    await page.getByTestId('new-session').click({ timeout: 2_000 })
    await dialog.waitFor({ timeout: 1_000 })
    return true
  })
  return dialog
}

/** The whole xterm buffer (scroll-back included), one string per row, trailing blanks trimmed. */
export async function terminalText(page: Page): Promise<string> {
  return page.evaluate(() => {
    const host = document.querySelector('[data-testid="terminal-host"]') as
      | (HTMLElement & {
          xterm?: { buffer: { active: { length: number; getLine(i: number): { translateToString(trim: boolean): string } | undefined } } }
        })
      | null
    const buffer = host?.xterm?.buffer.active
    if (!buffer) return ''
    const rows: string[] = []
    for (let i = 0; i < buffer.length; i++) rows.push(buffer.getLine(i)?.translateToString(true) ?? '')
    return rows.join('\n').replace(/\n+$/, '')
  })
}

export async function messageTexts(page: Page): Promise<Array<{ id: string; role: string; text: string; pending: string }>> {
  return page.$$eval('[data-testid="message"]', (els) =>
    els.map((el) => ({
      id: el.getAttribute('data-message-id') ?? '',
      role: el.getAttribute('data-role') ?? '',
      pending: el.getAttribute('data-pending') ?? '',
      text: el.querySelector('[data-testid="message-text"]')?.textContent ?? '',
    })),
  )
}

export async function connectionState(page: Page): Promise<string | null> {
  return page.getAttribute('[data-testid="connection"]', 'data-state').catch(() => null)
}

export function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = resolve(ARTIFACTS, `${name}.png`)
  await page.screenshot({ path })
  return path
}

/**
 * Starts the production server and Chromium before a file's tests and disposes both after; hands
 * them to the file's own variables so tests read `server` and `browser` as plain bindings. (Not
 * `use…`: that prefix means a React hook, and this registers vitest's beforeAll/afterAll.)
 */
export function setupServerAndBrowser(receive: (server: TestServer, browser: Browser) => void, env: Record<string, string> = {}): void {
  let server: TestServer | undefined
  let browser: Browser | undefined
  beforeAll(async () => {
    server = await startServer(env)
    browser = await launchBrowser()
    receive(server, browser)
  })
  afterAll(async () => {
    await browser?.close()
    await server?.dispose()
  })
}
