/**
 * The whole app on PostgreSQL (issue 14): two app nodes opened by openTetherServer on one fresh
 * database behave as one Tether. What one node writes (sessions, messages, tokens' secret, login
 * codes, webhooks, rate-limit counts) the other serves; a long-poll on one node wakes for a
 * message posted on the other. Nodes that do not share the secrets refuse to start.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import postgres from 'postgres'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadSettings } from '../../src/lib/settings'
import type { WorkerCallbackContext } from '../../src/lib/sessions/worker-callbacks'
import { openTetherServer, ownAddress, tetherConfigFrom, type TetherServer, type TetherServerConfig } from '../../src/lib/tether-server'
import { pgNodeSessions } from '../support/app-config'
import { freshDatabase, preparePostgres, type TestDatabase } from '../support/postgres'

const quiet = pino({ level: 'silent' })
const sessions = pgNodeSessions

let db: TestDatabase
const dirs: string[] = []
const apps: TetherServer[] = []

function configFor(over: Partial<TetherServerConfig> = {}): TetherServerConfig {
  const dataDir = mkdtempSync(join(tmpdir(), 'tether-pg-app-'))
  dirs.push(dataDir)
  return { dataDir, databaseUrl: db.url, sessions: sessions(), logger: quiet, sweepIntervalMs: 0, longPollTimeoutMs: 5_000, allowLoopbackWebhooks: true, ...over }
}

async function node(over: Partial<TetherServerConfig> = {}): Promise<TetherServer> {
  const app = await openTetherServer(configFor(over))
  apps.push(app)
  await app.ready
  return app
}

function call(app: TetherServer, path: string, token: string | null, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers)
  if (token) headers.set('authorization', `Bearer ${token}`)
  if (init.json !== undefined) headers.set('content-type', 'application/json')
  const body = init.json !== undefined ? JSON.stringify(init.json) : init.body
  return app.fetch(new Request(`http://app${path}`, { ...init, headers, body }))
}

beforeAll(async () => {
  db = await freshDatabase()
})

afterAll(async () => {
  for (const app of apps) await app.close()
  await db.drop()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the app on PostgreSQL', () => {
  it('refuses to start without the secrets every node must share, and says which', async () => {
    await expect(openTetherServer(configFor({ sessions: sessions({ secret: undefined }) }))).rejects.toThrow(/TETHER_SECRET/)
    await expect(openTetherServer(configFor({ sessions: sessions({ credentialsKey: undefined }) }))).rejects.toThrow(/TETHER_CREDENTIALS_KEY/)
  })

  it('keeps nothing in the data dir: two nodes serve one set of sessions, each seeing what the other wrote', async () => {
    const a = await node()
    const b = await node()
    expect(a.engine).toBe('postgres')
    expect(a.streams).toBeNull()

    // A token minted by one node is good on the other (one shared secret).
    const admin = await a.issueToken({ role: 'admin' })
    const created = await call(b, '/api/sessions', admin, { method: 'POST', json: {} })
    expect(created.status).toBe(201)
    const { session } = (await created.json()) as { session: { id: string } }
    const got = await call(a, `/api/sessions/${session.id}`, await b.issueToken({ role: 'admin' }))
    expect(got.status).toBe(200)

    // A long-poll on node b wakes for a message posted on node a.
    const streamPath = `/api/streams/sessions/${session.id}`
    const head = await call(b, `${streamPath}?offset=-1`, admin)
    expect(head.status).toBe(200)
    await head.arrayBuffer()
    const tail = head.headers.get('stream-next-offset')!
    const waiting = call(b, `${streamPath}?offset=${tail}&live=long-poll`, admin)
    const posted = await call(a, `/api/sessions/${session.id}/messages`, admin, { method: 'POST', json: { text: 'hello from node a' } })
    expect(posted.status).toBeLessThan(300)
    const woke = await waiting
    expect(woke.status).toBe(200)
    expect(await woke.text()).toContain('hello from node a')

    // Both list it; the stats summary and the metrics read the same tables.
    for (const app of [a, b]) {
      const list = (await (await call(app, '/api/sessions', admin)).json()) as { sessions: Array<{ id: string }> }
      expect(list.sessions.map((s) => s.id)).toContain(session.id)
    }
    const summary = await call(b, '/api/sessions/stats/summary', admin)
    expect(summary.status).toBe(200)
    const metrics = await (await call(a, '/metrics', admin)).text()
    expect(metrics).toMatch(/tether_sessions\{status="active",pattern="[a-z-]+"\} 1/)
    expect(metrics).not.toContain('tether_sqlite_file_bytes')
    // No database, secret or key file in any node's data dir: a node's disk holds nothing the others need.
    for (const d of dirs) expect(readdirSync(d).filter((f) => /\.db|secret|\.key/.test(f))).toEqual([])
    expect(existsSync(join(dirs[0]!, 'tether.db'))).toBe(false)
  })

  it('decides each write on what every node wrote: a retried event id is stored once, another agent cannot write into a message', async () => {
    const a = await node()
    const b = await node()
    const admin = await a.issueToken({ role: 'admin' })
    const { session } = (await (await call(a, '/api/sessions', admin, { method: 'POST', json: {} })).json()) as { session: { id: string } }
    const writer = `/api/streams?sessionId=${session.id}`
    const agentA = await a.issueToken({ role: 'worker', sessionId: session.id, subject: 'agent-a' })
    const agentB = await b.issueToken({ role: 'worker', sessionId: session.id, subject: 'agent-b' })
    const chunk = (author: string, messageId: string, delta: string, id?: string) => ({
      channel: 'chunk',
      ...(id ? { id } : {}),
      data: { messageId, role: 'assistant', author, turn: 1, seq: 0, delta, done: true },
    })
    // Node b has the session's fold loaded before node a writes.
    expect((await call(b, writer, agentB, { method: 'POST', json: chunk('agent-b', 'mb', 'from b') })).status).toBe(200)
    expect((await call(a, writer, agentA, { method: 'POST', json: chunk('agent-a', 'ma', 'first', 'evt-retried') })).status).toBe(200)
    // The same event retried through the other node is a duplicate, not a second copy.
    const retry = await call(b, writer, agentA, { method: 'POST', json: chunk('agent-a', 'ma', 'first', 'evt-retried') })
    expect(retry.status).toBe(200)
    expect(await retry.json()).toMatchObject({ duplicates: 1 })
    // Agent b cannot write into the message agent a started on the other node.
    expect((await call(b, writer, agentB, { method: 'POST', json: chunk('agent-b', 'ma', 'hijack') })).status).toBe(403)
    const events = (await (await call(a, `/api/streams/sessions/${session.id}?offset=-1`, admin)).json()) as Array<{ headers: { eventId: string } }>
    expect(events.filter((e) => e.headers.eventId === 'evt-retried')).toHaveLength(1)
  })

  it("gives its workers the node's own address, the lease store and session records, not the load balancer's URL", async () => {
    const settings = loadSettings({ TETHER_DATABASE_URL: db.url, TETHER_PUBLIC_URL: 'https://tether.example.com', HOST: '0.0.0.0', PORT: '4123' })
    const config = tetherConfigFrom(settings)
    expect(config.nodeUrl).toBe('http://127.0.0.1:4123')
    expect(ownAddress('10.1.2.3', 80)).toBe('http://10.1.2.3:80')
    expect(ownAddress('::', 3000)).toBe('http://[::1]:3000')
    let seen: WorkerCallbackContext | undefined
    const app = await openTetherServer({ ...configFor(), publicUrl: 'https://tether.example.com', nodeUrl: config.nodeUrl }, (ctx) => {
      seen = ctx
      return {}
    })
    apps.push(app)
    expect(seen?.writerUrl).toBe('http://127.0.0.1:4123/api/streams')
    expect(seen?.sessionStreamUrl('s_1')).toMatch(/^http:\/\/127\.0\.0\.1:4123\/api\/streams\//)
    expect(seen?.leaseStore).toBeDefined()
    const admin = await app.issueToken({ role: 'admin' })
    const { session } = (await (await call(app, '/api/sessions', admin, { method: 'POST', json: {} })).json()) as { session: { id: string } }
    expect((await seen?.sessionOf?.(session.id))?.id).toBe(session.id)
  })

  it('redeems a login code minted on one node once, on any node', async () => {
    const a = await node()
    const b = await node()
    const { code } = await a.loginCodes.mint()
    const first = await call(b, '/api/auth/exchange', null, { method: 'POST', json: { code } })
    expect(first.status).toBe(200)
    const again = await call(a, '/api/auth/exchange', null, { method: 'POST', json: { code } })
    expect(again.status).toBe(401)
  })

  it('shares webhook endpoints and their signing key between nodes', async () => {
    const a = await node()
    const b = await node()
    const admin = await a.issueToken({ role: 'admin' })
    const made = await call(a, '/api/webhooks', admin, { method: 'POST', json: { url: 'http://127.0.0.1:9/hook' } })
    expect(made.status).toBe(201)
    const { webhook } = (await made.json()) as { webhook: { id: string } }
    const listed = (await (await call(b, '/api/webhooks', admin)).json()) as { webhooks: Array<{ id: string }> }
    expect(listed.webhooks.map((e) => e.id)).toEqual([webhook.id])
    const jwks = async (app: TetherServer) => (await call(app, '/api/webhooks/jwks.json', null)).text()
    expect(await jwks(a)).toBe(await jwks(b))
  })

  it('is ready when the database is writable and migrated', async () => {
    const a = await node()
    const res = await call(a, '/api/ready', null)
    const report = (await res.json()) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> }
    expect(res.status).toBe(200)
    expect(report.checks.filter((c) => c.ok).map((c) => c.name)).toEqual(expect.arrayContaining(['database', 'migrations']))
  })

  it('answers 503 with Retry-After while the database refuses connections, and serves again once it is back', async () => {
    const own = await freshDatabase()
    const name = new URL(own.url).pathname.slice(1)
    const root = postgres(preparePostgres(), { max: 1, onnotice: () => {} })
    const app = await openTetherServer(configFor({ databaseUrl: own.url }))
    try {
      const admin = await app.issueToken({ role: 'admin' })
      const { session } = (await (await call(app, '/api/sessions', admin, { method: 'POST', json: {} })).json()) as { session: { id: string } }
      await root.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
      await root.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}' AND pid <> pg_backend_pid()`)
      const during = [
        await call(app, '/api/sessions', admin),
        await call(app, `/api/sessions/${session.id}/messages`, admin, { method: 'POST', json: { text: 'while down' } }),
        await call(app, `/api/streams/sessions/${session.id}?offset=-1`, admin),
      ]
      expect(during.map((r) => r.status)).toEqual([503, 503, 503])
      for (const r of during) expect(r.headers.get('retry-after')).toBe('1')
      expect((await call(app, '/api/ready', null)).status).toBe(503)
      await root.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
      await expect.poll(async () => (await call(app, '/api/sessions', admin)).status, { timeout: 15_000 }).toBe(200)
      expect((await call(app, `/api/sessions/${session.id}/messages`, admin, { method: 'POST', json: { text: 'back' } })).status).toBe(201)
      expect(await (await call(app, `/api/streams/sessions/${session.id}?offset=-1`, admin)).text()).toContain('back')
    } finally {
      await root.unsafe(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
      await root.end({ timeout: 5 })
      await app.close()
      await own.drop()
    }
  })
})
