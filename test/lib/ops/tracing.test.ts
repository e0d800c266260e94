/**
 * Request ids and OpenTelemetry traces through the whole app: a real OTLP/HTTP receiver on
 * loopback collects the JSON the official exporter posts; the app runs on real HTTP with a real
 * SQLite file; a worker's first assistant chunk is a raw append through the gate, as a worker
 * makes it.
 */
import { createServer, type Server } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { serve } from 'srvx/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { requestLogFields } from '../../../src/lib/ops/request-context'
import { startTracing, tracingOn, type TracingHandle } from '../../../src/lib/ops/tracing'
import { openTurnSpans } from '../../../src/lib/ops/tracing-turns'
import { buildSessionEvent, type SessionEvent } from '../../../src/lib/sessions/session-events'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'

interface OtlpSpan {
  traceId: string
  spanId: string
  parentSpanId?: string
  name: string
  attributes: Array<{ key: string; value: Record<string, unknown> }>
}

function attr(span: OtlpSpan, key: string): unknown {
  const v = span.attributes.find((a) => a.key === key)?.value
  return v ? Object.values(v)[0] : undefined
}

/** A tiny OTLP/HTTP receiver: keeps every span of every JSON export it is sent. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; bodies: string[]; close(): Promise<void> }> {
  const spans: OtlpSpan[] = []
  const bodies: string[] = []
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', () => {
      bodies.push(body)
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) {
        const doc = JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }
        for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans)
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{}')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  return { url: `http://127.0.0.1:${port}`, spans, bodies, close: () => new Promise((r) => server.close(() => r())) }
}

function envelope(input: unknown): SessionEvent {
  const built = buildSessionEvent(input, { now: Date.now() })
  if (!built.ok) throw new Error(built.message)
  return built.value
}

describe('request ids and traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>
  let tracing: TracingHandle
  let app: TetherServer
  let url: string
  let admin: string
  let close: () => Promise<void>
  const logs: Array<Record<string, unknown>> = []

  beforeAll(async () => {
    receiver = await startReceiver()
    expect(tracingOn()).toBe(false)
    tracing = await startTracing({ endpoint: receiver.url, immediate: true })
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Record<string, unknown>)
        cb()
      },
    })
    // The same mixin the server's own pino logger has (tether-server.ts).
    const logger = pino({ level: 'info', mixin: requestLogFields }, sink)
    const dataDir = mkdtempSync(join(tmpdir(), 'tether-tracing-'))
    app = createTetherServer({
      dataDir,
      logger,
      sweepIntervalMs: 0,
      sessions: {
        auth: true,
        secret: 'tracing-test-secret',
        monitorIntervalMs: 0,
        ephemeralRemoveAfterMs: 60_000,
        retentionDays: 30,
        maxEventBodyBytes: 64 * 1024,
        defaultLimits: {},
      },
    })
    await app.ready
    const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
    await server.ready()
    const address = server.node?.server?.address() as { port: number }
    url = `http://127.0.0.1:${address.port}`
    admin = await app.issueToken({ role: 'admin', subject: 'admin-user', ttlSeconds: 3600 })
    close = async () => {
      await server.close(true)
      await app.close()
    }
  })

  afterAll(async () => {
    await close()
    await tracing.stop()
    await receiver.close()
  })

  const post = (path: string, body: unknown, headers: Record<string, string> = {}, token = admin) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })

  it('answers with the given x-request-id when well-formed, a fresh one otherwise', async () => {
    const given = await fetch(`${url}/api/health`, { headers: { 'x-request-id': 'ops-check-1' } })
    expect(given.headers.get('x-request-id')).toBe('ops-check-1')
    const forged = await fetch(`${url}/api/health`, { headers: { 'x-request-id': 'a b"\\c' } })
    const fresh = forged.headers.get('x-request-id')
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{8}-[0-9a-z]+$/)
    const other = (await fetch(`${url}/api/health`)).headers.get('x-request-id')
    expect(other).not.toBe(fresh)
    // Errors carry it too (a 404 from the router).
    expect((await fetch(`${url}/api/nowhere`, { headers: { 'x-request-id': 'lost-1' } })).headers.get('x-request-id')).toBe('lost-1')
  })

  it('traces a message from its HTTP request to the SQLite commit and to the first agent token; logs carry the request id', async () => {
    const created = await post('/api/sessions', { title: 'traced', pattern: 'long-running', agent: { model: 'echo' } })
    expect(created.status).toBe(201)
    const sessionId = ((await created.json()) as { session: { id: string } }).session.id

    const res = await post(`/api/sessions/${sessionId}/messages`, { text: 'hello' }, { 'x-request-id': 'msg-req-42' })
    expect(res.status).toBeLessThan(300)
    expect(res.headers.get('x-request-id')).toBe('msg-req-42')
    const { messageId } = (await res.json()) as { messageId: string }
    // The session layer logged the accepted turn inside the request: the mixin put the id on it.
    const accepted = logs.find((l) => l.msg === 'turn accepted' && l.sessionId === sessionId)
    expect(accepted).toMatchObject({ requestId: 'msg-req-42', turn: 1, turnId: `turn:${messageId}` })
    expect(openTurnSpans()).toBe(1)

    // The worker's first token: a raw append through the gate, with the turn id as its request id.
    const worker = await app.issueToken({ role: 'worker', sessionId, subject: 'agent' })
    const chunk = envelope({ channel: 'chunk', data: { messageId: 'a-1', role: 'assistant', author: 'agent', turn: 1, seq: 0, delta: 'Hi' } })
    const appended = await post(`/api/streams/sessions/${sessionId}`, [chunk], { 'x-request-id': `turn:${messageId}` }, worker)
    expect(appended.status).toBeLessThan(300)
    expect(appended.headers.get('x-request-id')).toBe(`turn:${messageId}`)
    expect(openTurnSpans()).toBe(0)
    await tracing.flush()

    const spans = receiver.spans
    const byId = new Map(spans.map((s) => [s.spanId, s]))
    const request = spans.find((s) => s.name === 'HTTP POST /api/sessions/*' && attr(s, 'tether.request_id') === 'msg-req-42')
    expect(request).toBeDefined()
    expect(attr(request!, 'tether.session_id')).toBe(sessionId)
    expect(attr(request!, 'http.response.status_code')).toBe(res.status)
    // HTTP request → sessions API → SQLite commit, all one trace.
    const api = spans.find((s) => s.name === 'sessions.api' && s.parentSpanId === request!.spanId)
    expect(api).toBeDefined()
    const commits = spans.filter((s) => s.name === 'sqlite.commit' && s.traceId === request!.traceId)
    expect(commits.length).toBeGreaterThan(0)
    for (const c of commits) {
      let up = byId.get(c.parentSpanId ?? '')
      while (up && up.spanId !== api!.spanId) up = byId.get(up.parentSpanId ?? '')
      expect(up?.spanId).toBe(api!.spanId)
      expect(Number(attr(c, 'tether.batch.operations'))).toBeGreaterThanOrEqual(1)
    }
    // User message → first agent token: started inside the message's request, ended by the chunk.
    const turn = spans.find((s) => s.name === 'turn.first_token')
    expect(turn).toMatchObject({ traceId: request!.traceId })
    expect(attr(turn!, 'tether.session_id')).toBe(sessionId)
    expect(attr(turn!, 'tether.turn')).toBe(1)
    expect(attr(turn!, 'tether.agent')).toBe('agent')
    // The gate's own trace for the worker's append: request → gate → commit.
    const gateRequest = spans.find((s) => s.name === 'HTTP POST /api/streams/*' && attr(s, 'tether.request_id') === `turn:${messageId}`)
    const gate = spans.find((s) => s.name === 'streams.gate' && s.parentSpanId === gateRequest?.spanId)
    expect(spans.some((s) => s.name === 'sqlite.commit' && s.parentSpanId === gate?.spanId)).toBe(true)

    // No token, bearer or message text in anything exported.
    const exported = receiver.bodies.join('\n')
    expect(exported).not.toContain(admin)
    expect(exported).not.toContain(worker)
    expect(exported).not.toMatch(/bearer/i)
    expect(exported).not.toContain('hello')
  })
})
