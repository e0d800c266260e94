/**
 * The model gateway (POST /api/sessions/<id>/model) over real HTTP on loopback: the whole app
 * with its SQLite file, and a stub provider (test double for a paid API), an OpenAI-compatible
 * chat completions server that counts the requests it gets and records their Authorization.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from 'srvx/node'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createTetherServer, type TetherServer } from '../../../src/lib/tether-server'
import type { ModelLedger } from '../../../src/lib/gateway'
import { parseModelPrices } from '../../../src/lib/gateway/pricing'
import { gatewaySettings as loadGatewayConfig, type SessionsConfig } from '../../../src/lib/settings'
import { GatewayError, GatewayProvider } from '../../../src/worker/providers/gateway'
import { captureLogger } from '../../support/capture-logger'

const SERVER_KEY = 'sk-server-side-openai-key-0123456789'
const PRICES = { 'openai:stub-model': { inputPerMTokUsd: 2, outputPerMTokUsd: 10 } }

// ---- stub provider (test double for a paid API) ----------------------------------------------
interface StubRequest {
  authorization: string | undefined
  // biome-ignore lint/suspicious/noExplicitAny: the body as the double received it
  body: any
}
let stub: Server
let stubUrl = ''
const stubRequests: StubRequest[] = []
/** How the stub answers the next request. */
let stubAnswer: (res: ServerResponse) => void | Promise<void> = () => {}
const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`

// ---- the app ----------------------------------------------------------------------------------
let app: TetherServer<ModelLedger>
let url = ''
let close: () => Promise<void>
let admin = ''

beforeAll(async () => {
  stub = createServer((req, res) => {
    let raw = ''
    req.on('data', (d) => (raw += d))
    req.on('end', () => {
      stubRequests.push({ authorization: req.headers.authorization, body: JSON.parse(raw) })
      void stubAnswer(res)
    })
  })
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r))
  stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}/v1`

  const dataDir = mkdtempSync(join(tmpdir(), 'tether-gateway-'))
  const sessions: SessionsConfig = {
    auth: true,
    secret: 'test-secret-for-the-gateway-suite',
    monitorIntervalMs: 0,
    ephemeralRemoveAfterMs: 60_000,
    retentionDays: 30,
    maxEventBodyBytes: 1024 * 1024,
    defaultLimits: {},
  }
  const gateway = loadGatewayConfig({
    TETHER_OPENAI_BASE_URL: stubUrl,
    TETHER_OPENAI_API_KEY: SERVER_KEY,
    TETHER_MODEL_PRICES: JSON.stringify(PRICES),
  })
  app = createTetherServer({ dataDir, sessions, gateway, logger: captureLogger().logger, sweepIntervalMs: 0 })
  await app.ready
  const server = serve({ fetch: (req) => app.fetch(req), port: 0, hostname: '127.0.0.1', silent: true, gracefulShutdown: false })
  await server.ready()
  url = `http://127.0.0.1:${(server.node!.server!.address() as { port: number }).port}`
  close = async () => {
    await server.close(true)
    await app.close()
  }
  admin = await app.issueToken({ role: 'admin', subject: 'admin-user' })
})

afterAll(async () => {
  await close?.()
  stub?.close()
})

beforeEach(() => {
  stubRequests.length = 0
  stubAnswer = (res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(
      sse({ choices: [{ delta: { content: 'hi' } }] }) +
        sse({ choices: [], usage: { prompt_tokens: 1000, completion_tokens: 200 } }) +
        'data: [DONE]\n\n',
    )
  }
})

async function createSession(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/api/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: 'long-running', ...body }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { session: { id: string } }).session.id
}

const workerToken = (sessionId: string) => app.issueToken({ role: 'worker', sessionId, subject: `agent-${sessionId}` })

const step = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  system: 'be brief',
  messages: [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }],
  tools: [],
  ...extra,
})

function callModel(sessionId: string, token: string | null, body: unknown): Promise<Response> {
  return fetch(`${url}/api/sessions/${sessionId}/model`, {
    method: 'POST',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

const lines = async (res: Response) =>
  (await res.text())
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)

async function getSession(
  id: string,
): Promise<{ status: string; endReason: string | null; usage: { costUsd: number; tokensIn: number; tokensOut: number } }> {
  const res = await fetch(`${url}/api/sessions/${id}`, { headers: { authorization: `Bearer ${admin}` } })
  return ((await res.json()) as { session: never }).session
}

describe('model gateway', () => {
  it("adds the server's key, streams the answer as NDJSON and records the call in the ledger", async () => {
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const res = await callModel(id, await workerToken(id), step('openai:stub-model'))
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/)
    expect(await lines(res)).toEqual([
      { type: 'text', text: 'hi' },
      // 1000 in × $2/M + 200 out × $10/M, priced from TETHER_MODEL_PRICES
      { type: 'usage', usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.004 } },
    ])
    expect(stubRequests).toHaveLength(1)
    expect(stubRequests[0].authorization).toBe(`Bearer ${SERVER_KEY}`)
    // The worst case bound is sent on: the provider cannot spend past the estimate.
    expect(stubRequests[0].body).toMatchObject({ model: 'stub-model', max_tokens: 4096, stream: true })
    const [call] = ledgerCalls(id)
    expect(call).toMatchObject({
      sessionId: id,
      model: 'openai:stub-model',
      status: 'ok',
      inputTokens: 1000,
      outputTokens: 200,
      costUsd: 0.004,
    })
    expect(call.endedAt).not.toBeNull()
    // No agent reported any usage in the stream: the record's usage is the ledger's.
    await expect.poll(async () => (await getSession(id)).usage).toMatchObject({ costUsd: 0.004, tokensIn: 1000, tokensOut: 200 })
  })

  it('flushes each event as the provider sends it', async () => {
    let release!: () => void
    const released = new Promise<void>((r) => (release = r))
    stubAnswer = async (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(sse({ choices: [{ delta: { content: 'first' } }] }))
      await released
      res.end(
        sse({ choices: [{ delta: { content: ' second' } }] }) +
          sse({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 2 } }) +
          'data: [DONE]\n\n',
      )
    }
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const res = await callModel(id, await workerToken(id), step('openai:stub-model'))
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    // The stub holds the rest back until the first line has reached us.
    const first = await reader.read()
    expect(JSON.parse(first.value!.split('\n')[0])).toEqual({ type: 'text', text: 'first' })
    release()
    let rest = ''
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value
    expect(rest).toContain('"text":" second"')
  })

  it('ends the answer with an error line when the provider fails mid-stream, and records the failure', async () => {
    stubAnswer = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(sse({ choices: [{ delta: { content: 'par' } }] }) + sse({ error: { message: `overloaded (key ${SERVER_KEY})` } }))
    }
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const events = await lines(await callModel(id, await workerToken(id), step('openai:stub-model')))
    expect(events[0]).toEqual({ type: 'text', text: 'par' })
    expect(events.at(-1)).toMatchObject({ type: 'error' })
    expect(String(events.at(-1)!.error)).toContain('overloaded')
    // A provider quoting the key back never carries it to the worker.
    expect(JSON.stringify(events)).not.toContain(SERVER_KEY)
    expect(ledgerCalls(id)[0]).toMatchObject({ status: 'error' })
  })

  it("refuses every role but that session's worker (403), before any provider request", async () => {
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const other = await createSession({ agent: { model: 'openai:stub-model' } })
    const shareToken = await app.issueToken({ role: 'collaborator', sessionId: id })
    const callers: Array<[string, string]> = [
      ['viewer', await app.issueToken({ role: 'viewer', sessionId: id, subject: 'u_viewer' })],
      ['collaborator (share link)', shareToken],
      ['collaborator (joined)', await app.issueToken({ role: 'collaborator', sessionId: id, subject: 'u_collab' })],
      // Admin may not either: this is the worker's endpoint; an admin posts messages instead.
      ['admin', admin],
      ['admin scoped to the session', await app.issueToken({ role: 'admin', sessionId: id, subject: 'admin-2' })],
      ['worker of another session', await workerToken(other)],
    ]
    for (const [who, token] of callers) {
      const res = await callModel(id, token, step('openai:stub-model'))
      expect(res.status, who).toBe(403)
      expect(((await res.json()) as { error: string }).error, who).toMatch(/worker|not valid for session/)
    }
    expect((await callModel(id, null, step('openai:stub-model'))).status).toBe(401)
    expect(stubRequests).toHaveLength(0)
    expect(ledgerCalls(id)).toHaveLength(0)
    // The benign case still works.
    expect((await callModel(id, await workerToken(id), step('openai:stub-model'))).status).toBe(200)
  })

  it("serves only the session's own model (a worker cannot pick a pricier one)", async () => {
    const id = await createSession({ agent: { model: 'echo' } })
    const res = await callModel(id, await workerToken(id), step('openai:stub-model'))
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: string }).error).toContain("session's model (echo)")
    expect(stubRequests).toHaveLength(0)
  })

  it('answers a malformed or oversized request with a 400 naming the field', async () => {
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const token = await workerToken(id)
    const cases: Array<[unknown, string]> = [
      [{ ...step('openai:stub-model'), messages: [] }, 'messages'],
      [{ ...step('openai:stub-model'), maxTokens: 10_000_000 }, 'maxTokens'],
      [{ ...step('openai:stub-model'), messages: [{ role: 'system', content: [] }] }, 'messages.0.role'],
      [{ ...step('openai:stub-model'), apiKey: 'mine' }, 'body'],
      [{ ...step('openai:stub-model'), system: 'x'.repeat(1024 * 1024 + 1) }, 'system'],
    ]
    for (const [body, field] of cases) {
      const res = await callModel(id, token, body)
      expect(res.status, field).toBe(400)
      expect(((await res.json()) as { field: string }).field, field).toBe(field)
    }
    expect(stubRequests).toHaveLength(0)
  })

  it('refuses (402) a call whose worst case passes the budget, calls no provider, and ends the session with limit:budget', async () => {
    // Worst case: ~30 input tokens × $2/M + 4096 output × $10/M ≈ $0.041 > $0.01.
    const id = await createSession({ agent: { model: 'openai:stub-model' }, limits: { maxBudgetUsd: 0.01 } })
    const res = await callModel(id, await workerToken(id), step('openai:stub-model'))
    expect(res.status).toBe(402)
    const body = (await res.json()) as { reason: string; error: string; estimateUsd: number }
    expect(body.reason).toBe('budget')
    expect(body.estimateUsd).toBeGreaterThan(0.01)
    expect(body.error).toMatch(/may cost up to \$0\.04/)
    expect(stubRequests).toHaveLength(0)
    expect(await getSession(id)).toMatchObject({ status: 'terminated', endReason: 'limit:budget' })
    expect(ledgerCalls(id)).toMatchObject([{ status: 'refused', costUsd: 0 }])
  })

  it('lets a small call under the budget through and ends the session once the ledger reaches the budget', async () => {
    // maxTokens 100: worst case ≈ $0.00104, under the budget; the stub then reports usage worth
    // $0.004, over it (a provider may overrun an estimate; the next call is what must not happen).
    const id = await createSession({ agent: { model: 'openai:stub-model' }, limits: { maxBudgetUsd: 0.003 } })
    const res = await callModel(id, await workerToken(id), step('openai:stub-model', { maxTokens: 100 }))
    expect(res.status).toBe(200)
    await lines(res)
    expect(stubRequests).toHaveLength(1)
    // The worker reported nothing (it could lie or crash): the ledger alone ends the session.
    await expect.poll(async () => (await getSession(id)).endReason).toBe('limit:budget')
    const again = await callModel(id, await workerToken(id), step('openai:stub-model', { maxTokens: 100 }))
    expect(again.status).toBe(404)
    expect(stubRequests).toHaveLength(1)
  })

  it('refuses a model with no price unless the operator gives one', async () => {
    const id = await createSession({ agent: { model: 'openai:unpriced-model' } })
    const res = await callModel(id, await workerToken(id), step('openai:unpriced-model'))
    expect(res.status).toBe(503)
    expect(((await res.json()) as { error: string }).error).toContain('TETHER_MODEL_PRICES')
    expect(stubRequests).toHaveLength(0)
  })

  it('serves the echo model (offline test double) priced at $1 per million tokens', async () => {
    const id = await createSession({ agent: { model: 'echo' } })
    const events = await lines(await callModel(id, await workerToken(id), step('echo')))
    expect(
      events
        .filter((e) => e.type === 'text')
        .map((e) => e.text)
        .join(''),
    ).toBe('Echo: hello')
    expect(events.at(-1)).toEqual({ type: 'usage', usage: { inputTokens: 1, outputTokens: 2, costUsd: 3e-6 } })
    expect(ledgerCalls(id)).toMatchObject([{ model: 'echo:echo', status: 'ok', costUsd: 3e-6 }])
  })
})

describe("the worker's GatewayProvider", () => {
  const request = (model: string, signal = new AbortController().signal) =>
    ({ ...step(model), signal }) as Parameters<GatewayProvider['step']>[0]

  it('yields the events the gateway streams', async () => {
    const id = await createSession({ agent: { model: 'echo' } })
    const provider = new GatewayProvider({ serverUrl: url, sessionId: id, token: await workerToken(id) })
    const events = []
    for await (const e of provider.step(request('echo'))) events.push(e)
    expect(events.map((e) => e.type)).toEqual(['text', 'text', 'usage'])
  })

  it('turns a 402 into an error that says why, and a mid-stream failure into a thrown error', async () => {
    const poor = await createSession({ agent: { model: 'openai:stub-model' }, limits: { maxBudgetUsd: 0.01 } })
    const refused = new GatewayProvider({ serverUrl: url, sessionId: poor, token: await workerToken(poor) })
    const err = await (async () => {
      for await (const _ of refused.step(request('openai:stub-model'))) void _
    })().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GatewayError)
    expect(err).toMatchObject({ status: 402, reason: 'budget' })
    expect((err as Error).message).toMatch(/^the server refused the model call: budget/)

    stubAnswer = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(sse({ error: { message: 'overloaded' } }))
    }
    const id = await createSession({ agent: { model: 'openai:stub-model' } })
    const failing = new GatewayProvider({ serverUrl: url, sessionId: id, token: await workerToken(id) })
    await expect(
      (async () => {
        for await (const _ of failing.step(request('openai:stub-model'))) void _
      })(),
    ).rejects.toThrow(/overloaded/)
  })
})

describe('TETHER_MODEL_PRICES', () => {
  it('adds and overrides prices; the longest prefix wins', () => {
    const table = parseModelPrices(
      JSON.stringify({
        'openai:': { inputPerMTokUsd: 0, outputPerMTokUsd: 0 },
        'anthropic:claude-haiku-4-5': { inputPerMTokUsd: 2, outputPerMTokUsd: 6 },
      }),
    )
    expect(table.get('openai:')).toEqual({ inputPerMTokUsd: 0, outputPerMTokUsd: 0 })
    expect(table.get('anthropic:claude-haiku-4-5')).toEqual({ inputPerMTokUsd: 2, outputPerMTokUsd: 6 })
    expect(table.get('openai:gpt-4o')).toEqual({ inputPerMTokUsd: 2.5, outputPerMTokUsd: 10 })
  })

  it('stops the start-up with the reason when malformed', () => {
    expect(() => loadGatewayConfig({ TETHER_MODEL_PRICES: '{nope' })).toThrow(/TETHER_MODEL_PRICES: not valid JSON/)
    expect(() => parseModelPrices(JSON.stringify({ 'gpt-4o': { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } }))).toThrow(/<provider>:<model>/)
    expect(() => parseModelPrices(JSON.stringify({ 'openai:x': { inputPerMTokUsd: -1, outputPerMTokUsd: 1 } }))).toThrow(/inputPerMTokUsd/)
  })
})

const ledgerCalls = (sessionId: string) => app.ledger.calls(sessionId)
