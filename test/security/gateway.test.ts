/**
 * Issue #8, "keys stay on the server", through the production build (process runtime): the
 * server holds the provider keys and calls models for its workers (POST /api/sessions/<id>/model).
 * (a) A collaborator (share link, joined) asks the echo agent to `/run env`: neither the tool's
 *     environment nor the worker process's holds a provider key; the echo answer still works.
 * (b) A session with a $0.01 budget whose model's worst case costs more: its message reaches the
 *     gateway, which refuses before calling the provider (a stub provider, test double for a paid
 *     API, counts zero requests) and ends the session with limit:budget.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { issueToken, secretFromString } from '../../src/lib/sessions/tokens'
import { startProductionServer, type ProductionServer } from '../support/production-server'
import { processEnvironments, securityClient, type SecurityClient } from './support'

const FAKE_ANTHROPIC_KEY = 'sk-ant-fake-gateway-test-key-0123456789abcdef'
const FAKE_OPENAI_KEY = 'sk-openai-fake-gateway-test-key-0123456789abcdef'
// $1000 per million output tokens: 4096 output tokens at most → about $4 worst case.
const PRICES = { 'openai:stub-model': { inputPerMTokUsd: 1, outputPerMTokUsd: 1000 } }

let server: ProductionServer
let client: SecurityClient
let stub: Server
let stubRequests = 0
let admin = ''

beforeAll(async () => {
  stub = createServer((req, res) => {
    stubRequests++
    req.resume()
    res.writeHead(500).end('the stub provider must not be called in this test')
  })
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r))
  server = await startProductionServer({
    TETHER_WORKER_RUNTIME: 'process',
    ANTHROPIC_API_KEY: FAKE_ANTHROPIC_KEY,
    TETHER_OPENAI_API_KEY: FAKE_OPENAI_KEY,
    TETHER_OPENAI_BASE_URL: `http://127.0.0.1:${(stub.address() as { port: number }).port}/v1`,
    TETHER_MODEL_PRICES: JSON.stringify(PRICES),
  })
  const secret = readFileSync(join(server.dataDir, 'secret'), 'utf8').trim()
  admin = await issueToken(secretFromString(secret), { role: 'admin', subject: 'admin-user' })
  client = securityClient(server, admin)
}, 300_000)

afterAll(async () => {
  await server?.dispose()
  stub?.close()
})

describe('provider keys stay on the server', () => {
  it("a link holder's `/run env` through the echo agent shows no provider key, and no worker process has one", async () => {
    const { id, collaborator } = await client.sessionWithCollaborator({ agent: { model: 'echo' } }, { displayName: 'Link holder' })
    const posted = await client.api(`/api/sessions/${id}/messages`, collaborator, { text: '/run env' })
    expect(posted.status).toBe(201)
    const call = await client.waitFor('the shell tool call to finish', async () =>
      (await client.events(id, collaborator)).find(
        (e) => e.type === 'tool-call' && (e.value.status === 'succeeded' || e.value.status === 'failed'),
      ),
    )
    const output = JSON.stringify(call.value.output ?? call.value.error ?? '')
    // The benign part works: the tool ran and printed an environment.
    expect(call.value.status).toBe('succeeded')
    expect(output).toContain('PATH=')
    for (const leak of [FAKE_ANTHROPIC_KEY, FAKE_OPENAI_KEY, 'ANTHROPIC_API_KEY', 'TETHER_OPENAI_API_KEY', 'TETHER_OPENAI_BASE_URL']) {
      expect(output).not.toContain(leak)
    }
    // The worker process itself was started without them (root can read every /proc/<pid>/environ).
    const envs = processEnvironments(id)
    expect(envs.length).toBeGreaterThan(0)
    for (const env of envs) {
      expect(env).not.toContain(FAKE_ANTHROPIC_KEY)
      expect(env).not.toContain(FAKE_OPENAI_KEY)
    }
    // The echo model is served by the gateway: the agent's answer is in the stream.
    await client.waitFor('the agent to report the tool result', async () =>
      (await client.events(id, collaborator)).some((e) => e.type === 'chunk' && String(e.value.delta ?? '').includes('shell succeeded')),
    )
  })

  it('bar 3: a $0.01 budget and a model whose worst case costs more: zero provider requests, the session ends with limit:budget', async () => {
    const { id, collaborator } = await client.sessionWithCollaborator(
      { agent: { model: 'openai:stub-model' }, limits: { maxBudgetUsd: 0.01 } },
      { displayName: 'Link holder' },
    )
    const posted = await client.api(`/api/sessions/${id}/messages`, collaborator, { text: 'spend a lot' })
    expect(posted.status).toBe(201)
    const session = await client.waitFor('the session to end', async () => {
      const res = await client.api(`/api/sessions/${id}`, admin)
      const { session } = (await res.json()) as { session: { status: string; endReason: string | null } }
      return session.status !== 'active' ? session : null
    })
    expect(session).toMatchObject({ status: 'terminated', endReason: 'limit:budget' })
    expect(stubRequests).toBe(0)
    // The stream says so too: the stop control event carries the reason.
    const stop = (await client.events(id, admin)).find((e) => e.type === 'agent-state' && e.value.kind === 'control')
    expect(stop?.value).toMatchObject({ action: 'stop', reason: 'limit:budget' })
    // A link holder cannot reach the gateway themselves.
    const direct = await client.api(`/api/sessions/${id}/model`, collaborator, {
      model: 'openai:stub-model',
      system: '',
      messages: [{ role: 'user', content: [] }],
      tools: [],
    })
    expect(direct.status).toBe(403)
    expect(stubRequests).toBe(0)
  })
})
