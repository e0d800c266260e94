/**
 * Issue #12 bar 1: `GET /metrics` scraped before and after a scripted workload on the whole app
 * (real SQLite file, real HTTP on loopback, process-runtime workers running the echo agent):
 * three sessions created, messages, one worker SIGKILLed (a crash and a restart), one session
 * terminated. Every counter the workload touches moves by exactly the expected amount. A second
 * app without workers checks the streams counters against appends of known sizes, who may scrape,
 * and TETHER_METRICS=off.
 */
import { testSessionsConfig } from '../../support/app-config'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import pino from 'pino'
import { serve } from 'srvx/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import { latestAgentState, startWorkerHarness, turnEnded, type WorkerHarness } from '../workers/harness'

type Series = Map<string, number>

/** The Prometheus text format, enough of it: `name{a="b",…} value` lines; comments skipped. */
function parse(text: string): Series {
  const out: Series = new Map()
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`not a sample line: ${line}`)
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => `${k}=${v}`).sort()
    out.set(`${m[1]}{${labels.join(',')}}`, Number(m[3]))
  }
  return out
}

/** One series' value (0 when absent: a counter nobody bumped yet). */
const value = (s: Series, name: string, labels: Record<string, string> = {}) =>
  s.get(
    `${name}{${Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',')}}`,
  ) ?? 0

/** Sum over every series of `name` whose labels include `labels`. */
function sum(s: Series, name: string, labels: Record<string, string> = {}): number {
  let total = 0
  for (const [key, v] of s) {
    if (!key.startsWith(`${name}{`)) continue
    if (Object.entries(labels).every(([k, l]) => key.includes(`${k}=${l}`))) total += v
  }
  return total
}

async function scrape(url: string, token: string): Promise<Series> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain')
  return parse(await res.text())
}

describe('GET /metrics across a scripted workload (process workers, echo agent)', () => {
  let h: WorkerHarness
  beforeAll(async () => {
    h = await startWorkerHarness({ runtime: 'process' })
  }, 120_000)
  afterAll(async () => {
    await h?.close()
  })

  async function workerPid(sessionId: string): Promise<number> {
    const w = h.supervisor.workerOf(sessionId)
    if (!w?.workerId) throw new Error('no worker')
    const info = await (await h.supervisor.runtime('process')).inspect(w.workerId)
    return Number(info?.nativeId)
  }

  it('moves each counter by exactly what was done', async () => {
    const before = await scrape(h.url, h.adminToken)
    const statuses: number[] = []
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await h.request('/api/sessions', { json: { pattern: 'long-running', agent: { model: 'echo' } } })
      statuses.push(res.status)
      ids.push(((await res.json()) as { session: { id: string } }).session.id)
    }
    const [a, b, c] = ids
    for (const id of ids) await h.waitFor(id, latestAgentState, 'worker ready')
    for (const id of [a, b]) {
      const res = await h.request(`/api/sessions/${id}/messages`, { json: { text: 'hello metrics' } })
      statuses.push(res.status)
      await h.waitFor(id, (e) => turnEnded(e, 1), 'the turn to end')
    }
    // A crash: the worker dies by SIGKILL; the supervisor restarts it.
    process.kill(await workerPid(b), 'SIGKILL')
    await expect.poll(() => h.supervisor.workerOf(b), { timeout: 30_000 }).toMatchObject({ phase: 'running', restarts: 1 })
    const runtime = await h.supervisor.runtime('process')
    const cWorker = h.supervisor.workerOf(c)?.workerId
    const terminated = await h.request(`/api/sessions/${c}/terminate`, { json: {} })
    statuses.push(terminated.status)
    expect(terminated.status).toBe(200)
    await expect.poll(() => h.supervisor.workerOf(c), { timeout: 30_000 }).toBeNull()
    // Removed once it has exited (stop() waits for the exit).
    await expect.poll(async () => (await runtime.list()).some((w) => w.id === cWorker), { timeout: 30_000 }).toBe(false)

    const after = await scrape(h.url, h.adminToken)
    const delta = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels)

    expect(delta('tether_sessions_created_total')).toBe(3)
    expect(delta('tether_sessions_ended_total')).toBe(1)
    expect(delta('tether_sessions_ended_total', { reason: 'terminated' })).toBe(1)
    expect(value(after, 'tether_sessions', { status: 'active', pattern: 'long-running' })).toBe(2)
    expect(value(after, 'tether_sessions', { status: 'terminated', pattern: 'long-running' })).toBe(1)

    expect(delta('tether_worker_starts_total', { runtime: 'process', how: 'cold' })).toBe(3)
    expect(delta('tether_worker_start_duration_seconds_count', { runtime: 'process', how: 'cold' })).toBe(3)
    expect(delta('tether_worker_crashes_total', { runtime: 'process' })).toBe(1)
    expect(delta('tether_worker_exits_total', { runtime: 'process', reason: 'crashed' })).toBe(1)
    expect(delta('tether_worker_restarts_total', { runtime: 'process' })).toBe(1)
    // The terminated session's worker: stopped by the supervisor, or gone on its own after the stop event, once.
    expect(
      delta('tether_worker_exits_total', { runtime: 'process', reason: 'stop-requested' }) +
        delta('tether_worker_exits_total', { runtime: 'process', reason: 'stopped' }),
    ).toBe(1)
    expect(delta('tether_worker_exits_total')).toBe(2)
    expect(value(after, 'tether_workers', { runtime: 'process', phase: 'running' })).toBe(2)

    // Workers call the sessions API too (workspace snapshots), so ours are a lower bound here; the app
    // without workers below checks that route's counts exactly.
    expect(delta('tether_http_request_duration_seconds_count', { route: 'sessions-api' })).toBeGreaterThanOrEqual(statuses.length)
    // The scrape itself is counted once the request is answered: the first one shows in the second.
    expect(delta('tether_http_requests_total', { route: 'health', code: '200' })).toBe(1)

    // Model use is recomputed from the ledger: the metric equals the table, whatever the echo agent spent.
    const db = new Database(join(h.dataDir, 'tether.db'), { readonly: true })
    const ledger = db
      .prepare(
        "SELECT coalesce(sum(input_tokens),0) AS tin, coalesce(sum(output_tokens),0) AS tout FROM model_calls WHERE status != 'running'",
      )
      .get() as { tin: number; tout: number }
    db.close()
    expect(sum(after, 'tether_model_tokens_total', { direction: 'in' })).toBe(ledger.tin)
    expect(sum(after, 'tether_model_tokens_total', { direction: 'out' })).toBe(ledger.tout)

    expect(delta('tether_stream_appends_total')).toBeGreaterThan(0)
    expect(value(after, 'tether_sqlite_file_bytes', { file: 'db' })).toBeGreaterThan(0)
    expect(value(after, 'tether_process_resident_memory_bytes')).toBeGreaterThan(0)
  }, 180_000)
})

describe('GET /metrics on an app without workers', () => {
  const METRICS_TOKEN = 'scraper-secret-0123456789'
  const apps: TetherServer[] = []
  const closers: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const close of closers) await close()
    for (const a of apps) await a.close()
  })

  async function start(metrics: { enabled?: boolean; token?: string }) {
    const dataDir = mkdtempSync(join(tmpdir(), 'tether-metrics-'))
    const app = createTetherServer({
      dataDir,
      logger: pino({ level: 'silent' }),
      sweepIntervalMs: 0,
      metrics,
      sessions: testSessionsConfig(),
    })
    apps.push(app)
    const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
    await server.ready()
    closers.push(() => server.close(true))
    const address = server.node?.server?.address()
    if (!address || typeof address !== 'object') throw new Error('no address')
    await app.ready
    return {
      app,
      url: `http://127.0.0.1:${address.port}`,
      admin: await app.issueToken({ role: 'admin', subject: 'ops', ttlSeconds: 3600 }),
    }
  }

  it('counts appends, their bytes and their group commits exactly', async () => {
    const { url, admin } = await start({})
    const auth = { authorization: `Bearer ${admin}` }
    expect(
      (await fetch(`${url}/api/streams/ops/counted`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/octet-stream' } }))
        .status,
    ).toBe(201)
    const before = await scrape(url, admin)
    const sizes = [1, 10, 100, 1000, 4096]
    for (const n of sizes) {
      const res = await fetch(`${url}/api/streams/ops/counted`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/octet-stream' },
        body: new Uint8Array(n),
      })
      expect(res.status).toBe(204)
    }
    const after = await scrape(url, admin)
    const delta = (name: string, labels: Record<string, string> = {}) => sum(after, name, labels) - sum(before, name, labels)
    expect(delta('tether_stream_appends_total')).toBe(sizes.length)
    expect(delta('tether_stream_appended_bytes_total')).toBe(sizes.reduce((a, b) => a + b, 0))
    // One append at a time: each is its own group commit of one operation.
    expect(delta('tether_stream_commit_batch_ops_count')).toBe(sizes.length)
    expect(
      value(after, 'tether_stream_commit_batch_ops_bucket', { le: '1' }) -
        value(before, 'tether_stream_commit_batch_ops_bucket', { le: '1' }),
    ).toBe(sizes.length)
    expect(delta('tether_http_requests_total', { route: 'streams-append', code: '204' })).toBe(sizes.length)
    expect(delta('tether_http_request_duration_seconds_count', { route: 'streams-append' })).toBe(sizes.length)
    expect(delta('tether_http_requests_total', { route: 'health', code: '200' })).toBe(1)
    expect(value(after, 'tether_stream_live_readers', { mode: 'sse' })).toBe(0)
  })

  it('answers admin tokens and the scraper token; everyone else gets 401 or 403', async () => {
    const { app, url, admin } = await start({ token: METRICS_TOKEN })
    const created = await fetch(`${url}/api/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ pattern: 'long-running' }),
    })
    const sid = ((await created.json()) as { session: { id: string } }).session.id
    const counted = parse(await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text())
    expect(value(counted, 'tether_http_requests_total', { route: 'sessions-api', code: '201' })).toBe(1)
    expect(value(counted, 'tether_sessions_created_total')).toBe(1)
    expect(value(counted, 'tether_sessions', { status: 'active', pattern: 'long-running' })).toBe(1)
    const get = async (authorization?: string) =>
      (await fetch(`${url}/metrics`, { headers: authorization ? { authorization } : {} })).status
    expect(await get(`Bearer ${admin}`)).toBe(200)
    expect(await get(`Bearer ${METRICS_TOKEN}`)).toBe(200)
    expect(await get()).toBe(401)
    expect(await get(`Bearer ${METRICS_TOKEN}x`)).toBe(401)
    for (const role of ['viewer', 'collaborator', 'worker'] as const) {
      const token = await app.issueToken({ role, sessionId: sid, subject: `${role}-1`, ttlSeconds: 600 })
      expect(await get(`Bearer ${token}`), role).toBe(403)
    }
    // An admin token scoped to one session is not an operator's.
    expect(await get(`Bearer ${await app.issueToken({ role: 'admin', sessionId: sid, ttlSeconds: 600 })}`)).toBe(403)
    // The scraper secret opens /metrics only.
    expect((await fetch(`${url}/api/sessions`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(401)
    expect((await fetch(`${url}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${admin}` } })).status).toBe(405)
  })

  it('with TETHER_METRICS=off answers 404 and serves everything else as before', async () => {
    const { url, admin } = await start({ enabled: false })
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${admin}` } })
    expect(res.status).toBe(404)
    expect(((await res.json()) as { error: string }).error).toContain('TETHER_METRICS=off')
    expect((await fetch(`${url}/api/health`)).status).toBe(200)
  })
})
