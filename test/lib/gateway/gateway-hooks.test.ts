/**
 * The gateway's hooks for issue #11 (ModelGatewayOptions): `providerEnvFor` lays an agent's own
 * provider settings over the server's, and its key is redacted from provider errors like the
 * server's; `refuseCall` refuses a call before any provider request, on every wire. The gateway
 * is built on the real app's manager, auth and ledger (SQLite file); the provider is a loopback
 * OpenAI-compatible stub (test double for a paid API) that quotes the key it was sent.
 */
import { createServer, type Server } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createModelGateway, type ModelGatewayOptions } from '../../../src/lib/gateway'
import { parseModelPrices } from '../../../src/lib/gateway/pricing'
import { captureLogger } from '../../support/capture-logger'
import { createSession, startHarness, type Harness } from '../sessions/harness'

const PERSONAL_KEY = 'sk-personal-key-of-a-person-0123456789'
let h: Harness
let stub: Server
let stubUrl = ''
const stubAuth: Array<string | undefined> = []

beforeAll(async () => {
  h = await startHarness('builtin')
  stub = createServer((req, res) => {
    stubAuth.push(req.headers.authorization)
    req.resume()
    // A provider that quotes the credential back in its error (some do).
    res.writeHead(401, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: `invalid key ${String(req.headers.authorization)}` }))
  })
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r))
  stubUrl = `http://127.0.0.1:${(stub.address() as { port: number }).port}/v1`
})
afterAll(async () => {
  stub?.close()
  await h?.close()
})

function gateway(hooks: Pick<ModelGatewayOptions, 'providerEnvFor' | 'refuseCall'>) {
  return createModelGateway({
    manager: h.app.manager,
    auth: h.app.auth,
    ledger: h.app.ledger,
    prices: parseModelPrices(JSON.stringify({ 'openai:stub-model': { inputPerMTokUsd: 1, outputPerMTokUsd: 1 } })),
    providerEnv: {},
    logger: captureLogger().logger,
    ...hooks,
  })
}

async function call(g: ReturnType<typeof createModelGateway>, id: string, rest: string, body: unknown) {
  const token = await h.app.issueToken({ role: 'worker', sessionId: id, subject: 'a' })
  const req = new Request(`${h.url}/api/sessions/${id}/model${rest}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return g(req, await h.app.auth.authenticate(req), id)
}

const session = () =>
  createSession(h, {
    agents: [
      { id: 'a', model: 'openai:stub-model' },
      { id: 'b', model: 'echo' },
    ],
  })
const step = { model: 'openai:stub-model', system: '', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: [] }

describe('gateway hooks', () => {
  it("providerEnvFor: the agent's own endpoint and key are used, and the key never reaches the worker in an error", async () => {
    const asked: string[] = []
    const g = gateway({
      providerEnvFor: async (_s, agentId) => {
        asked.push(agentId)
        return { TETHER_OPENAI_BASE_URL: stubUrl, TETHER_OPENAI_API_KEY: PERSONAL_KEY }
      },
    })
    const id = await session()
    stubAuth.length = 0
    const ndjson = await (await call(g, id, '', step)).text()
    expect(stubAuth).toEqual([`Bearer ${PERSONAL_KEY}`])
    expect(ndjson).toContain('invalid key Bearer [redacted]')
    expect(ndjson).not.toContain(PERSONAL_KEY)

    const native = await call(g, id, '/anthropic/v1/messages', { max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
    expect(native.status).toBe(502)
    const text = await native.text()
    expect(text).toContain('[redacted]')
    expect(text).not.toContain(PERSONAL_KEY)
    expect(asked).toEqual(['a', 'a'])
    expect(h.app.ledger.calls(id).map((r) => r.error ?? '').join(' ')).not.toContain(PERSONAL_KEY)
  })

  it('refuseCall: refused before any provider request, in each wire’s shape, recorded as refused', async () => {
    const g = gateway({
      providerEnvFor: async () => ({ TETHER_OPENAI_BASE_URL: stubUrl }),
      refuseCall: async () => ({ status: 402, error: 'monthly spend quota reached', reason: 'quota:monthly-spend' }),
    })
    const id = await session()
    stubAuth.length = 0
    const plain = await call(g, id, '', step)
    expect(plain.status).toBe(402)
    expect(await plain.json()).toEqual({ ok: false, error: 'monthly spend quota reached', reason: 'quota:monthly-spend' })
    const anthropic = await call(g, id, '/anthropic/v1/messages', { max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
    expect(anthropic.status).toBe(402)
    expect(await anthropic.json()).toMatchObject({ type: 'error', error: { type: 'billing_error', message: 'monthly spend quota reached' }, reason: 'quota:monthly-spend' })
    const openai = await call(g, id, '/openai/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }] })
    expect(openai.status).toBe(402)
    expect(await openai.json()).toMatchObject({ error: { message: 'monthly spend quota reached', code: 'quota:monthly-spend' } })
    expect(stubAuth).toEqual([])
    expect(h.app.ledger.calls(id).map((r) => [r.agentId, r.status, r.error])).toEqual(Array(3).fill(['a', 'refused', 'monthly spend quota reached']))
  })
})
