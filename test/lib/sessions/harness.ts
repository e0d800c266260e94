/**
 * Test harness for the session layer: the whole Tether app served over real HTTP on loopback,
 * with a real SQLite file in a fresh temp dir, on one of two streams backends:
 * - builtin: Tether's own SQLite Durable Streams server, in process;
 * - external: the reference @durable-streams/server started as a separate process, reached
 *   through TETHER_STREAMS_URL-style configuration.
 * TETHER_TEST_STREAMS=builtin|external limits the suite to one backend (default: both).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { serve } from 'srvx/node'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { ModelLedger } from '../../../src/lib/gateway'
import type { SessionsConfig } from '../../../src/lib/settings'
import type { SessionWorkerCallbacksInput } from '../../../src/lib/sessions/worker-callbacks'
import { captureLogger } from '../../support/capture-logger'

export type Backend = 'builtin' | 'external'

export const BACKENDS: Backend[] = (() => {
  const only = process.env.TETHER_TEST_STREAMS
  if (only === 'builtin' || only === 'external') return [only]
  return ['builtin', 'external']
})()

export interface FakeClock {
  t: number
  now(): number
  advance(ms: number): void
}

export function fakeClock(start = Date.now()): FakeClock {
  const c: FakeClock = {
    t: start,
    now: () => c.t,
    advance: (ms) => {
      c.t += ms
    },
  }
  return c
}

interface ReferenceServer {
  url: string
  stop(): Promise<void>
}

/** Starts the reference server as a child process and waits for its URL. */
export function startReferenceServer(): Promise<ReferenceServer> {
  const script = resolve(import.meta.dirname, 'fixtures/reference-server.mjs')
  const child: ChildProcess = spawn(process.execPath, [script], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: resolve(import.meta.dirname, '../../..'),
  })
  return new Promise((resolveStart, reject) => {
    let out = ''
    child.once('exit', (code) => reject(new Error(`reference server exited (${code}) before it was ready: ${out}`)))
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const m = /READY (\S+)/.exec(out)
      if (m) {
        child.removeAllListeners('exit')
        resolveStart({
          url: m[1],
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done()
              child.once('exit', () => done())
              child.kill('SIGTERM')
            }),
        })
      }
    })
  })
}

export interface HarnessOptions {
  auth?: boolean
  sessions?: Partial<SessionsConfig>
  clock?: FakeClock
  workers?: SessionWorkerCallbacksInput
}

export interface Harness {
  backend: Backend
  /** Origin of the app, e.g. http://127.0.0.1:41234 (changes on restart). */
  url: string
  app: TetherServer<ModelLedger>
  clock: FakeClock
  dataDir: string
  adminToken: string
  /** Log lines the app wrote (pino JSON). */
  logs: string[]
  /** fetch against the app with an optional bearer token and JSON body. */
  request(
    path: string,
    init?: { method?: string; token?: string | null; json?: unknown; body?: BodyInit; headers?: Record<string, string> },
  ): Promise<Response>
  /** Stops the app and its HTTP server and starts a fresh one on the same data (and backend). */
  restart(): Promise<void>
  close(): Promise<void>
}

export async function startHarness(backend: Backend, opts: HarnessOptions = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), `tether-sessions-${backend}-`))
  const clock = opts.clock ?? fakeClock()
  const reference = backend === 'external' ? await startReferenceServer() : null
  const { logger, logs } = captureLogger()

  const sessions: SessionsConfig = {
    auth: opts.auth ?? true,
    secret: 'test-secret-for-the-session-suite',
    streamsUrl: reference ? reference.url : undefined,
    monitorIntervalMs: 0,
    ephemeralRemoveAfterMs: 60_000,
    retentionDays: 30,
    maxEventBodyBytes: 64 * 1024,
    defaultLimits: {},
    ...opts.sessions,
  }

  async function boot() {
    const app = createTetherServer({ dataDir, sessions, now: clock.now, logger, longPollTimeoutMs: 2000, sweepIntervalMs: 0 }, opts.workers)
    await app.ready
    const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
    await server.ready()
    const address = server.node?.server?.address()
    if (!address || typeof address !== 'object') throw new Error('no address')
    return { app, server, url: `http://127.0.0.1:${address.port}` }
  }

  let current = await boot()
  const h: Harness = {
    backend,
    dataDir,
    clock,
    logs,
    get url() {
      return current.url
    },
    get app() {
      return current.app
    },
    adminToken: await current.app.issueToken({ role: 'admin', subject: 'admin-user', ttlSeconds: 365 * 86_400 }),
    request(path, init = {}) {
      const headers: Record<string, string> = { ...init.headers }
      if (init.token) headers.authorization = `Bearer ${init.token}`
      let body = init.body
      if (init.json !== undefined) {
        headers['content-type'] = 'application/json'
        body = JSON.stringify(init.json)
      }
      return fetch(`${current.url}${path}`, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, body })
    },
    async restart() {
      await current.server.close(true)
      await current.app.close()
      current = await boot()
    },
    async close() {
      await current.server.close(true)
      await current.app.close()
      await reference?.stop()
    },
  }
  return h
}

/** Creates a session as admin and returns its id. */
export async function createSession(h: Harness, body: Record<string, unknown> = {}): Promise<string> {
  const res = await h.request('/api/sessions', { token: h.adminToken, json: { pattern: 'long-running', ...body } })
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`)
  const created = (await res.json()) as { session: { id: string } }
  return created.session.id
}

/** Writes events through the writer, expecting success. */
export async function write(
  h: Harness,
  sessionId: string,
  events: unknown,
  token = h.adminToken,
): Promise<{ offset: string; duplicates: number; eventIds: string[]; txid: string }> {
  const res = await h.request(`/api/streams?sessionId=${encodeURIComponent(sessionId)}`, { token, json: events })
  if (res.status !== 200) throw new Error(`write failed: ${res.status} ${await res.text()}`)
  return (await res.json()) as { offset: string; duplicates: number; eventIds: string[]; txid: string }
}

/** Reads a session stream (catch-up) through the app's protocol path. */
export async function readStream(
  h: Harness,
  sessionId: string,
  offset = '-1',
  token = h.adminToken,
  // biome-ignore lint/suspicious/noExplicitAny: test reads loose JSON
): Promise<{ events: Array<Record<string, any>>; next: string; closed: boolean }> {
  const res = await h.request(`/api/streams/sessions/${sessionId}?offset=${encodeURIComponent(offset)}`, { token })
  if (res.status !== 200) throw new Error(`read failed: ${res.status} ${await res.text()}`)
  const text = await res.text()
  return {
    // biome-ignore lint/suspicious/noExplicitAny: test reads loose JSON
    events: text.trim() ? (JSON.parse(text) as Array<Record<string, any>>) : [],
    next: res.headers.get('stream-next-offset') ?? '',
    closed: res.headers.get('stream-closed') === 'true',
  }
}
